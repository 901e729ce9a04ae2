// Package launcher turns a configuration, the inherited environment and the
// env files into a Plan (program, argv, directory, environment and where each
// variable came from) and execs it.
package launcher

// DefaultServer is the program serve runs when --server is not given.
const DefaultServer = "gunicorn"

// DefaultProcfile is the Procfile read when Config.Procfile is not given.
const DefaultProcfile = "Procfile"

// Config is what the command line says. The zero value of each field means
// the documented default.
type Config struct {
	AppDir     string   // default: the current directory
	EnvFiles   []string // relative to AppDir; a leading "-" makes a file optional; default ".env"
	Venv       string   // default: VIRTUAL_ENV after the env files, else .venv or venv in AppDir
	PythonPath []string // default: "src" in AppDir when it exists
	Server     string   // NAME or PATH; default DefaultServer
	Args       []string // SERVER-ARGS, or COMMAND ARGS for exec
	// Command makes the plan run Args[0] with Args[1:] instead of the server
	// (runapp exec).
	Command bool
	// Procfile is the Procfile's path, relative to AppDir; default
	// DefaultProcfile. Read only when Process is set.
	Procfile string
	// Process makes the plan run this process type of the Procfile instead
	// of the server: its command, split and expanded by procfile.Argv in
	// the planned environment, then resolved and, for a server of the
	// table, completed as serve completes the server's (see Build).
	Process string
	// Port, when not 0, is the PORT of Process whatever the environment
	// says: runapp start counts each process type's from a base, as
	// foreman does, a PORT in the env files included.
	Port int
	// NoEnvFiles reads no env file at all, not even the default .env, and
	// leaves EnvFiles unused: for a caller that has dealt with the files
	// itself (runapp check, when it has refused every one). The command line
	// has no flag for it, and a unit cannot say it (unitgen refuses it).
	NoEnvFiles bool
}
