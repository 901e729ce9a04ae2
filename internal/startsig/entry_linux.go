//go:build linux && (amd64 || arm64)

package startsig

// entry is implemented in assembly and reached only as the ELF entry point.
//
//lint:ignore U1000 the linker flag EntryFlag names it
func entry()
