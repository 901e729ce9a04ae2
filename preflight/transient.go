package preflight

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runapp/runapp/unitfile"
)

// execOptions are the [Service] options a transient service takes from the
// unit so that its process starts as the service's does: who it runs as,
// its environment and directory, and its sandbox (what it may read and
// write). Left out: how the service starts, stops and restarts, its
// resource limits, and the options whose effect outlives the process and
// would reach the running service: RemoveIPC= (it removes the user's IPC
// objects, the running server's too, when the transient unit stops),
// DynamicUser=, and RuntimeDirectory=, which becomes ReadWritePaths= (the
// running service's directory stays the service's; see Transient).
var execOptions = [...]string{
	"User", "Group", "SupplementaryGroups", "WorkingDirectory", "RootDirectory", "RootImage",
	"Environment", "EnvironmentFile", "PassEnvironment", "UnsetEnvironment", "UMask",
	"LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted",
	"StateDirectory", "CacheDirectory", "LogsDirectory", "ConfigurationDirectory",
	"ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths",
	"TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
	"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateUsers", "PrivateMounts",
	"PrivateNetwork", "PrivateIPC", "ProtectProc", "ProcSubset",
	"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
	"ProtectClock", "ProtectHostname", "NoNewPrivileges", "RestrictNamespaces", "RestrictRealtime",
	"RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RestrictAddressFamilies",
	"SystemCallFilter", "SystemCallErrorNumber", "SystemCallArchitectures",
	"CapabilityBoundingSet", "AmbientCapabilities", "SecureBits", "Personality",
	"LimitNOFILE", "Nice", "OOMScoreAdjust",
}

// Transient is the systemd-run command that runs the command of the unit
// u's ExecStart=, `runapp [serve] FLAGS [-- SERVER-ARGS]`, as `runapp
// SUBCOMMAND FLAGS ARGS...` (sub and args: "exec" and "--", a command; or
// "serve" and "--process", a process type) in a transient service called
// name, with u's exec options: the same runapp builds the same environment
// (env files, virtualenv, PYTHONPATH) in the same directory, as the same
// user, in the same sandbox, and runs what sub and args say instead of the
// server. Its output comes back
// through systemd-run's pipe (--pipe), and systemd-run exits with its
// status (--wait).
//
// The values are passed as the unit file writes them: systemd-run parses
// them as systemd parses the unit. It does not expand specifiers, which
// would mean the transient unit's name anyway: Transient expands those of
// the service's name (%n, %N, %p, %i) as systemd does for u; a value with
// another is an error, as is an ExecStart= that does not serve with
// runapp.
func Transient(u *unitfile.Unit, name, sub string, args ...string) ([]string, error) {
	var words []string
	if exec := u.List("Service", "ExecStart"); len(exec) > 0 {
		// The service's name where ExecStart= says it (a template's
		// --app-dir /srv/%i); %d, the credentials directory, is the
		// transient unit's own.
		var err error
		words, err = unitfile.SplitCommand(expandName(exec[len(exec)-1].Value, u.Name), "/run/credentials/"+name)
		if err != nil {
			return nil, err
		}
	}
	if len(words) == 0 || !strings.HasPrefix(filepath.Base(words[0]), "runapp") {
		return nil, errors.New("its ExecStart= is not runapp [serve] FLAGS [-- SERVER-ARGS]")
	}
	flags := words[1:]
	if i := slices.Index(flags, "--"); i >= 0 {
		flags = flags[:i]
	}
	if len(flags) > 0 && flags[0] == "serve" {
		flags = flags[1:]
	}
	if slices.Contains(args, "--process") {
		// A Procfile's command names its program: runapp refuses
		// --server beside --process, and the unit's own process type
		// gives way to the one asked for.
		flags = without(flags, "server", "process")
	} else {
		// A command of its own: no process type, nor its Procfile.
		flags = without(flags, "process", "procfile")
	}
	cmd := []string{"systemd-run", "--quiet", "--collect", "--wait", "--pipe", "--service-type=exec", "--unit=" + name}
	for _, o := range u.Options {
		if o.Section != "Service" || o.Name != "RuntimeDirectory" && !slices.Contains(execOptions[:], o.Name) {
			continue
		}
		value, ok := specifiers(o.Value, u.Name)
		if !ok {
			return nil, errors.New(o.Where() + ": " + o.Name + "= has a specifier other than %n, %N, %p, %i and %%, which deploy does not expand")
		}
		if o.Name == "RuntimeDirectory" {
			// The running service's runtime directory, readable and
			// writable as the service has it, not created or removed.
			for _, d := range strings.Fields(value) {
				cmd = append(cmd, "--property=ReadWritePaths=-/run/"+d)
			}
			continue
		}
		cmd = append(cmd, "--property="+o.Name+"="+value)
	}
	cmd = append(cmd, words[0], sub)
	cmd = append(cmd, flags...)
	return append(cmd, args...), nil
}

// without is flags less the flags called names, with their values: after
// "=", or the next word, but for --procfile, whose value only ever
// follows "=" (--procfile alone names the app directory's Procfile).
func without(flags []string, names ...string) []string {
	var kept []string
	for i := 0; i < len(flags); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		if strings.HasPrefix(flags[i], "-") && slices.Contains(names, name) {
			if !hasValue && name != "procfile" {
				i++ // its value is the next word
			}
			continue
		}
		kept = append(kept, flags[i])
	}
	return kept
}

// specifiers expands the specifiers of the unit's name in value, as
// systemd does in a unit file (see expandName), and %% to a %. ok is false
// for any other specifier.
func specifiers(value, unit string) (string, bool) {
	value = expandName(value, unit)
	if strings.Contains(strings.ReplaceAll(value, "%%", ""), "%") {
		return "", false
	}
	return strings.ReplaceAll(value, "%%", "%"), true
}

// expandName expands in value the specifiers of the unit's name: %n the
// full name, %N without its suffix, %p the part before "@", %i the
// instance after it. It leaves %% and every other specifier as written.
func expandName(value, unit string) string {
	if !strings.Contains(value, "%") {
		return value
	}
	base := strings.TrimSuffix(unit, filepath.Ext(unit))
	prefix, instance, _ := strings.Cut(base, "@")
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if value[i] != '%' || i+1 == len(value) {
			b.WriteByte(value[i])
			continue
		}
		i++
		switch value[i] {
		case 'n':
			b.WriteString(unit)
		case 'N':
			b.WriteString(base)
		case 'p':
			b.WriteString(prefix)
		case 'i':
			b.WriteString(instance)
		default:
			b.WriteByte('%')
			b.WriteByte(value[i])
		}
	}
	return b.String()
}
