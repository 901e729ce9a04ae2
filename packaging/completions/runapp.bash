# bash completion for runapp(1).
# Generated from runapp's command table and flag sets by make completions
# (go test ./cmd/runapp -update): do not edit.

# _runapp_files [-d] [DIR]: files (-d: directories) named by $cur, relative
# to DIR when it is one.
_runapp_files() {
	local opt=-f
	if [[ $1 == -d ]]; then opt=-d; shift; fi
	compopt -o filenames 2>/dev/null
	if [[ -n $1 && -d $1 && $cur != /* ]]; then
		mapfile -t COMPREPLY < <(cd -- "$1" && compgen "$opt" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen "$opt" -- "$cur")
	fi
}

_runapp() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= prefix=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# --flag=VALUE: where = breaks words (COMP_WORDBREAKS), the words are
	# --flag, = and VALUE; elsewhere one word.
	if [[ $cur == = && $prev == -* ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == -*=* ]]; then
		prev=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
	fi
	COMPREPLY=()

	# The command is the first word unless that is a flag: then it serves.
	local cmd=serve i=1
	if [[ ${COMP_WORDS[1]} != -* ]] && ((COMP_CWORD > 1)); then
		cmd=${COMP_WORDS[1]} i=2
	fi
	if ((COMP_CWORD == 1)) && [[ ${COMP_WORDS[1]} != -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "serve exec start env check deploy fmt unit kube version help" -- "$cur")
		return
	fi

	# Flags end at "--" or at the first argument that is not one (as
	# package flag parses them), the app directory is what --app-dir says.
	local w positional= appdir=
	for ((; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) positional=after-dashes; break ;;
		-env-file|--env-file|-app-dir|--app-dir|-pythonpath|--pythonpath|-venv|--venv|-write|--write|-container|--container|-unit|--unit|-runapp|--runapp|-writable|--writable|-user|--user|-group|--group|-server|--server|-format|--format|-from|--from|-hardening|--hardening|-process|--process|-port|--port|-longest-task|--longest-task|-name|--name|-health|--health|-timeout|--timeout|-after|--after|-description|--description|-every|--every|-gunicorn-version|--gunicorn-version|-scale|--scale|-socket|--socket|-wants|--wants|-health-host|--health-host|-health-path|--health-path|-image|--image|-pre-stop|--pre-stop|-replicas|--replicas|-run-as-group|--run-as-group|-run-as-user|--run-as-user|-service-port|--service-port)
			[[ $w == -app-dir || $w == --app-dir ]] && appdir=${COMP_WORDS[i + 1]}
			((i++)) ;;
		-*) ;;
		*) positional=$w; break ;;
		esac
	done
	if [[ -n $positional ]]; then
		case $cmd in
		exec)
			# COMMAND right after "--", then its arguments.
			if [[ $positional == after-dashes ]] && ((i == COMP_CWORD - 1)); then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			else
				_runapp_files
			fi ;;
		help) ;;
		*) _runapp_files ;;
		esac
		return
	fi

	case $prev in
	-env-file|--env-file)
		local dash=
		[[ $cur == -* ]] && dash=- cur=${cur#-}
		_runapp_files "$appdir"
		COMPREPLY=("${COMPREPLY[@]/#/$prefix$dash}")
		return ;;
	-app-dir|--app-dir|-pythonpath|--pythonpath|-venv|--venv|-write|--write)
		_runapp_files -d
		COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
		return ;;
	-container|--container|-unit|--unit|-runapp|--runapp|-writable|--writable)
		_runapp_files
		COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
		return ;;
	-user|--user)
		mapfile -t COMPREPLY < <(compgen -P "$prefix" -u -- "$cur")
		return ;;
	-group|--group)
		mapfile -t COMPREPLY < <(compgen -P "$prefix" -g -- "$cur")
		return ;;
	-server|--server)
		mapfile -t COMPREPLY < <(compgen -P "$prefix" -W 'gunicorn uvicorn hypercorn daphne' -- "$cur")
		return ;;
	-format|--format)
		mapfile -t COMPREPLY < <(compgen -P "$prefix" -W 'text json' -- "$cur")
		return ;;
	-from|--from)
		mapfile -t COMPREPLY < <(compgen -P "$prefix" -W 'bash python-dotenv compose' -- "$cur")
		return ;;
	-hardening|--hardening)
		mapfile -t COMPREPLY < <(compgen -P "$prefix" -W 'strict basic none' -- "$cur")
		return ;;
	-process|--process|-port|--port|-longest-task|--longest-task|-name|--name|-health|--health|-timeout|--timeout|-after|--after|-description|--description|-every|--every|-gunicorn-version|--gunicorn-version|-scale|--scale|-socket|--socket|-wants|--wants|-health-host|--health-host|-health-path|--health-path|-image|--image|-pre-stop|--pre-stop|-replicas|--replicas|-run-as-group|--run-as-group|-run-as-user|--run-as-user|-service-port|--service-port)
		return ;;
	esac

	local flags
	case $cmd in
	serve) flags='--app-dir --env-file --process --procfile --pythonpath --server --venv --help' ;;
	exec) flags='--app-dir --env-file --process --procfile --pythonpath --server --venv --help' ;;
	start) flags='--app-dir --env-file --no-color --port --procfile --pythonpath --venv --help' ;;
	env) flags='--app-dir --env-file --process --procfile --pythonpath --server --show-values --venv --help' ;;
	check) flags='--app-dir --container --env-file --format --import --longest-task --name --process --procfile --pythonpath --server --unit --user --venv --help' ;;
	deploy) flags='--dry-run --health --no-release --restart --timeout --unit --help' ;;
	fmt) flags='--app-dir --d --env-file --from --l --no-backup --process --procfile --pythonpath --server --venv --w --help' ;;
	unit) flags='--after --app-dir --credential --description --env-file --environment-file --every --group --gunicorn-version --hardening --longest-task --name --process --procfile --pythonpath --runapp --scale --server --socket --user --venv --wants --writable --write --help' ;;
	kube) flags='--app-dir --env-file --every --health-host --health-path --image --longest-task --name --port --pre-stop --process --procfile --pythonpath --replicas --run-as-group --run-as-user --runapp --server --service-port --venv --help' ;;
	version) flags='--help' ;;
	help) flags='--help' ;;
	*) return ;;
	esac
	case $cmd,$cur in
	help,[!-]* | help,) mapfile -t COMPREPLY < <(compgen -W "serve exec start env check deploy fmt unit kube version help" -- "$cur") ;;
	exec,[!-]* | exec,) mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
	*) mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur") ;;
	esac
}
complete -F _runapp runapp
