package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/runapp/runapp/kube"
	"github.com/runapp/runapp/launcher"
)

const kubeSynopsis = "runapp kube --app-dir DIR --image IMAGE [--procfile[=FILE] | --process NAME] [FLAGS] [-- SERVER-ARGS...]"

const kubeHelp = `
Prints the Kubernetes manifests that run this configuration in pods, as
runapp unit prints the unit: a Deployment of the web server, with a
readiness probe on --health-path and a terminationGracePeriodSeconds longer
than the server's graceful stop and the preStop pause, and a Service. The
flags are runapp's in the image: --app-dir is the app's directory there.
Each env file is a key of the Secret NAME-env, mounted as a file runapp
reads; the output's first lines say how to make it. The pods run as the
image's (numeric) user, never root, on a read-only root file system with
every capability dropped; /tmp is an in-memory emptyDir.

With --procfile, a Deployment per process type of the Procfile (the web one
with the probe and the Service), each running runapp --process NAME, and a
Job for the release type, to run before the rest; --process NAME renders
that type alone. The Procfile is read here, relative to the current
directory (the app's checkout), to learn the types and what each runs; the
pods read the image's at each start.
`

var kubeCommand = &command{
	name:     "kube",
	summary:  "print the Kubernetes manifests",
	synopsis: kubeSynopsis,
	help:     kubeHelp,
	config:   true,
	args:     serverArgs,
	declare:  kubeFlags,
}

// kubeFlags declares kube's flags.
func kubeFlags(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
	var o kube.Options
	fs.StringVar(&o.Image, "image", "", "the container `IMAGE` that holds runapp, the app and its virtualenv (required)")
	fs.StringVar(&o.Name, "name", "", "the `NAME` of the objects (default: the app directory's base name)")
	fs.StringVar(&o.Runapp, "runapp", kube.DefaultRunapp, "runapp's absolute `PATH` in the image")
	fs.IntVar(&o.Replicas, "replicas", kube.DefaultReplicas, "the number of web pods `N`")
	fs.IntVar(&o.Port, "port", 0, "the `PORT` the server listens on in the pod (default: the one SERVER-ARGS bind)")
	fs.IntVar(&o.ServicePort, "service-port", kube.DefaultServicePort, "the Service's `PORT`")
	fs.StringVar(&o.HealthPath, "health-path", kube.DefaultHealthPath, "the `PATH` the readiness probe asks, which answers 200 once the app serves")
	fs.StringVar(&o.HealthHost, "health-host", kube.DefaultHealthHost, "the Host header the readiness probe sends: a `HOST` Django's ALLOWED_HOSTS accepts")
	fs.DurationVar(&o.PreStop, "pre-stop", kube.DefaultPreStop, "how long a stopping pod serves on before the server gets TERM, while endpoints drop it: whole seconds, `DURATION`; 0 for none")
	fs.Func("run-as-user", "the `UID` the pods run as (default: the image's USER, which must be numeric)", idFlag(&o.RunAsUser))
	fs.Func("run-as-group", "the `GID` the pods run as (default: the image's)", idFlag(&o.RunAsGroup))
	return func(_ []string, stdout, _ io.Writer) error {
		o.Config = *cfg
		if cfg.Procfile != "" || cfg.Process != "" {
			// Read here, where runapp kube runs: the app's checkout.
			f, err := launcher.ReadProcfile(cmp.Or(cfg.Procfile, launcher.DefaultProcfile))
			if err != nil {
				return err
			}
			o.Procfile = f
		}
		out, err := kube.Manifests(o)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, out)
		return nil
	}
}

// idFlag sets *id from a user or group ID.
func idFlag(id **int64) func(string) error {
	return func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > 1<<31-1 {
			return fmt.Errorf("%q is not a user or group ID", s)
		}
		*id = &n
		return nil
	}
}
