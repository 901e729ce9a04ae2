// Package packaging holds what installs runapp as a system tool: the Debian
// package's files (built by make deb) and the tests of make install, make
// deb and make release.
package packaging
