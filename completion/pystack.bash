# bash completion for pystack                              -*- shell-script -*-
#
# Completes the command, each command's options and their values, the files
# of core, and for dump and watch the PIDs of the running Python processes.
# Works with plain bash (complete -F); uses bash-completion's _init_completion
# and _filedir when they are loaded.  Installed as
# $(PREFIX)/share/bash-completion/completions/pystack.

# The PIDs of the running Python processes, into the array _pystack_pids: those
# whose executable is named python* (python3, python3.12, python3.13t...), and
# those that map a libpython*.so (an interpreter embedded in another program).
# Two processes in all (find, grep), not one per PID.
_pystack_python_pids()
{
	local dir exe maps=()
	_pystack_pids=()
	while IFS=' ' read -r dir exe; do
		[[ -n $exe ]] || continue	# a kernel thread, or not ours to read
		if [[ ${exe##*/} == python* ]]; then
			_pystack_pids+=("${dir#/proc/}")
		else
			maps+=("$dir/maps")
		fi
	done < <(find /proc -mindepth 2 -maxdepth 2 -path '/proc/[0-9]*/exe' \
		-printf '%h %l\n' 2>/dev/null)
	((${#maps[@]})) || return 0
	while read -r dir; do
		dir=${dir%/maps}
		_pystack_pids+=("${dir#/proc/}")
	done < <(grep -ls -m1 '/libpython[^/]*\.so' "${maps[@]}")
}

# Options of each command.  Those in _pystack_arg_opts take a value, which may
# be the next word; --color takes an optional one, only as --color=WHEN.
_pystack_opts_common='--color --colour --format --json --locals --native
	--native-all --nonblocking --subprocesses --tasks --verbose --help --usage
	--version -f -j -v -V'
_pystack_opts_watch='--count --duration --flamegraph --interval --stuck
	-c -d -i'
_pystack_arg_opts='--format|-f|--count|-c|--duration|-d|--interval|-i|--flamegraph|--stuck|--sysroot'

# Completes the value of option $1, from prefix $2, into COMPREPLY.
_pystack_value()
{
	case $1 in
	--format | -f)
		COMPREPLY=($(compgen -W 'text json collapsed' -- "$2")) ;;
	--color | --colour)
		COMPREPLY=($(compgen -W 'auto always never' -- "$2")) ;;
	--duration | -d | --interval | -i | --stuck)
		COMPREPLY=($(compgen -W '10ms 100ms 500ms 1s 10s 1m' -- "$2")) ;;
	--flamegraph)
		_pystack_files "$2" ;;
	--sysroot)
		_pystack_files "$2" -d ;;
	*)
		COMPREPLY=() ;;	# --count: a number
	esac
}

# Files (or, with -d, directories) from prefix $1 into COMPREPLY.
_pystack_files()
{
	local cur=$1
	if declare -F _filedir >/dev/null; then
		_filedir $2
	else
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen ${2:--f} -- "$cur"))
	fi
}

_pystack()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n = || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	# Put --opt=value back into one word, as bash splits it at the '='
	# (when '=' is in COMP_WORDBREAKS and _init_completion did not join it).
	local -a w=()
	local i cw=0
	for ((i = 0; i < ${#words[@]}; i++)); do
		if ((i > 0)) && [[ ${words[i]} == = && ${w[-1]} == -* ]]; then
			w[-1]+==
			((i + 1 < ${#words[@]} && i + 1 <= cword)) &&
				w[-1]+=${words[++i]}
		else
			w+=("${words[i]}")
		fi
		((i <= cword)) && cw=$((${#w[@]} - 1))
	done
	cur=${w[cw]}
	prev=${w[cw - 1]}

	# The command: the first word that is not an option.
	local cmd= ci
	for ((ci = 1; ci < cw; ci++)); do
		[[ ${w[ci]} == -* ]] || { cmd=${w[ci]}; break; }
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --usage --version -V' -- "$cur"))
			[[ $cur == - ]] && COMPREPLY+=('-\?')
		else
			COMPREPLY=($(compgen -W 'dump watch core' -- "$cur"))
		fi
		return 0
	fi

	local opts=$_pystack_opts_common
	case $cmd in
	dump) ;;
	watch) opts+=" $_pystack_opts_watch" ;;
	core) opts=${opts/--nonblocking --subprocesses/}
		opts+=' --sysroot' ;;
	*) return 0 ;;
	esac

	# Positional arguments before this word, and whether '--' ended options.
	local npos=0 dashdash= skip= given=()
	for ((i = ci + 1; i < cw; i++)); do
		if [[ -n $skip ]]; then
			skip=
		elif [[ -z $dashdash && ${w[i]} == -- ]]; then
			dashdash=1
		elif [[ -z $dashdash && ${w[i]} == -* ]]; then
			[[ ${w[i]} == @($_pystack_arg_opts) ]] && skip=1
		else
			((npos++))
			given+=("${w[i]}")
		fi
	done

	if [[ -n $skip ]]; then		# the value of the option before
		_pystack_value "$prev" "$cur"
		return 0
	fi
	if [[ -z $dashdash && $cur == --*=* ]]; then
		_pystack_value "${cur%%=*}" "${cur#*=}"
		# Where '=' does not break words, the whole word is replaced.
		[[ ${COMP_WORDS[COMP_CWORD]} == "$cur" ]] &&
			COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
		return 0
	fi
	if [[ -z $dashdash && $cur == -[fdi]?* ]]; then	# -fjson, -i100ms
		_pystack_value "${cur:0:2}" "${cur:2}"
		COMPREPLY=("${COMPREPLY[@]/#/${cur:0:2}}")
		return 0
	fi
	if [[ -z $dashdash && $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		[[ $cur == - ]] && COMPREPLY+=('-\?')
		return 0
	fi

	case $cmd in
	core)
		((npos < 2)) && _pystack_files "$cur" ;;
	watch | dump)
		[[ $cmd == watch ]] && ((npos >= 1)) && return 0
		_pystack_python_pids
		local p g keep=()
		for p in "${_pystack_pids[@]}"; do
			for g in "${given[@]}"; do
				[[ $p == "$g" ]] && continue 2
			done
			keep+=("$p")
		done
		COMPREPLY=($(compgen -W "${keep[*]}" -- "$cur"))
		;;
	esac
	return 0
}
complete -F _pystack pystack
