package check

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catalogue is every check identifier, spelled out here on purpose and not
// with the constants: the README promises the identifiers never change, so
// changing or dropping one must fail this test and be seen in review.
// Append new ones; never edit a line.
var catalogue = []struct{ name, id string }{
	{"IDAppDirMissing", "appdir.missing"},
	{"IDAppDirAccess", "appdir.access"},
	{"IDEnvFileMissing", "envfile.missing"},
	{"IDEnvFileRead", "envfile.read"},
	{"IDEnvFileAccess", "envfile.access"},
	{"IDEnvFileSyntax", "envfile.syntax"},
	{"IDEnvFileDuplicate", "envfile.duplicate"},
	{"IDEnvFileMode", "envfile.mode"},
	{"IDEnvFileDirMode", "envfile.dirmode"},
	{"IDEnvSize", "env.size"},
	{"IDUserUnknown", "user.unknown"},
	{"IDVenvMissing", "venv.missing"},
	{"IDVenvPython", "venv.python"},
	{"IDVenvMismatch", "venv.mismatch"},
	{"IDVenvMoved", "venv.moved"},
	{"IDPythonPathMissing", "pythonpath.missing"},
	{"IDPythonPathEmpty", "pythonpath.empty"},
	{"IDServerNotFound", "server.notfound"},
	{"IDServerRun", "server.run"},
	{"IDServerAccess", "server.access"},
	{"IDServerInterpreter", "server.interpreter"},
	{"IDAppDetect", "app.detect"},
	{"IDAppNone", "app.none"},
	{"IDAppModule", "app.module"},
	{"IDAppImport", "app.import"},
	{"IDGunicornArgs", "gunicorn.args"},
	{"IDGunicornConfig", "gunicorn.config"},
	{"IDGunicornUnknown", "gunicorn.unknown"},
	{"IDGunicornDaemon", "gunicorn.daemon"},
	{"IDGunicornPidfile", "gunicorn.pidfile"},
	{"IDGunicornBind", "gunicorn.bind"},
	{"IDGunicornGracefulTimeout", "gunicorn.graceful_timeout"},
	{"IDGunicornPreloadReload", "gunicorn.preload_reload"},
	{"IDUnitRead", "unit.read"},
	{"IDUnitSyntax", "unit.syntax"},
	{"IDUnitType", "unit.type"},
	{"IDUnitPidfile", "unit.pidfile"},
	{"IDUnitWatchdog", "unit.watchdog"},
	{"IDUnitKillMode", "unit.killmode"},
	{"IDUnitUser", "unit.user"},
	{"IDUnitEnvironmentFile", "unit.environmentfile"},
	{"IDUnitExecStart", "unit.execstart"},
	{"IDUnitDrift", "unit.drift"},
	{"IDUnitHardening", "unit.hardening"},
	{"IDUnitEnvPending", "unit.env_pending"},
	{"IDRunappEntry", "runapp.entry"},
	{"IDServerArgs", "server.args"},
	{"IDServerReload", "server.reload"},
	{"IDServerSupervisor", "server.supervisor"},
	{"IDGunicornWorker", "gunicorn.worker"},
	{"IDUnitReload", "unit.reload"},
	{"IDContainerRead", "container.read"},
	{"IDContainerEntrypoint", "container.entrypoint"},
	{"IDContainerCmd", "container.cmd"},
	{"IDContainerUser", "container.user"},
	{"IDKubeGrace", "kube.grace"},
	{"IDKubeReadiness", "kube.readiness"},
	{"IDKubeRoot", "kube.root"},
	{"IDKubeReadOnly", "kube.readonly"},
	{"IDProcfileSyntax", "procfile.syntax"},
	{"IDProcfileCommand", "procfile.command"},
	{"IDProcessSupervisor", "process.supervisor"},
	{"IDProcessReload", "process.reload"},
	{"IDProcessKillMode", "process.killmode"},
	{"IDProcessTimeout", "process.timeout"},
	{"IDProcessRelease", "process.release"},
	{"IDProcessInstances", "process.instances"},
}

// The constants of ids.go are exactly the catalogue, in its order.
func TestIDsCatalogue(t *testing.T) {
	var got []struct{ name, id string }
	for _, c := range consts(t, "ids.go") {
		got = append(got, struct{ name, id string }{c.name, c.value})
	}
	assert.Equal(t, catalogue, got)
	seen := map[string]bool{}
	for _, c := range catalogue {
		assert.False(t, seen[c.id], "%s twice", c.id)
		seen[c.id] = true
		sub, ok := strings.CutPrefix(c.name, "ID")
		assert.True(t, ok, c.name)
		area, _, _ := strings.Cut(c.id, ".")
		assert.True(t, strings.HasPrefix(strings.ToLower(sub), area), "%s does not start with the area of %s", c.name, c.id)
	}
}

// Each problem is added with a constant of the catalogue, never a literal:
// an identifier spelled in two places could drift from its promise.
func TestIDsUsedAsConstants(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, c := range catalogue {
		ids[c.id] = true
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") || path == "ids.go" {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				// c.add(sev, ID, ...) and c.access(ID, ...)
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					break
				}
				arg := -1
				switch sel.Sel.Name {
				case "add":
					arg = 1
				case "access":
					arg = 0
				}
				if arg >= 0 && arg < len(n.Args) {
					if lit, ok := n.Args[arg].(*ast.BasicLit); ok {
						t.Errorf("%s: %s(%s): use a constant of ids.go", fset.Position(lit.Pos()), sel.Sel.Name, lit.Value)
					}
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && ids[s] {
					t.Errorf("%s: %s is spelled out; use its constant of ids.go", fset.Position(n.Pos()), n.Value)
				}
			}
			return true
		})
	}
}

type constant struct{ name, value string }

// consts returns the string constants a file declares, in order.
func consts(t *testing.T, path string) []constant {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	var list []constant
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				require.True(t, ok, "%s is not a string literal", name.Name)
				value, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				list = append(list, constant{name.Name, value})
			}
		}
	}
	return list
}
