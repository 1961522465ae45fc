# bash completion for bulkhead(1)                          -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/bulkhead, or source it.
#
# Completes commands, global and per-command options, option values
# (formats, --color), environment names and labels (read from bulkhead.yaml
# with awk), unit ids (from `bulkhead graph --format json`, which evaluates
# the repo but never runs a program or reaches the network), Git revisions,
# files and directories.  Names from the repository are never passed through
# compgen -W (which would expand them): they are filtered by prefix here and
# must look like names (no spaces, quotes, $ or backquotes).

_bulkhead_commands=(build validate show drift diff changes graph order init help)
_bulkhead_global_opts=(-C -j --jobs -q --quiet --color --color= --rev --staged --version --help -h)
_bulkhead_common_opts=(-C -j --jobs -q --quiet --color --color= --rev --staged --help -h)

# Appends to COMPREPLY every word of "$2..." that starts with "$1", as is.
_bulkhead_add()
{
    local cur=$1 w
    shift
    for w in "$@"; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
}

# Expands a leading ~/ of a path typed on the command line, nothing else.
_bulkhead_path()
{
    local p=$1
    # shellcheck disable=SC2088 # a literal "~/" typed by the user
    [[ $p == "~/"* ]] && p=$HOME/${p#"~/"}
    printf '%s\n' "$p"
}

# The value of -C on the command line so far (the last one wins).
_bulkhead_dir()
{
    local i dir=
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == -C ]] && dir=${COMP_WORDS[i + 1]}
        [[ ${COMP_WORDS[i]} == -C?* ]] && dir=${COMP_WORDS[i]#-C}
    done
    [[ -n $dir ]] && _bulkhead_path "$dir"
}

# The project file above the -C directory or the current one.
_bulkhead_project_file()
{
    local dir
    dir=$(_bulkhead_dir)
    dir=$(cd "${dir:-.}" 2>/dev/null && pwd -P) || return 1
    while :; do
        [[ -f $dir/bulkhead.yaml ]] && { printf '%s\n' "$dir/bulkhead.yaml"; return 0; }
        [[ -z $dir || $dir == / ]] && return 1
        dir=${dir%/*}
    done
}

# Environment and shared account names, and the labels of multi-region
# environments (name/region, from a one-line "regions: [a, b]").
_bulkhead_envs()
{
    local file
    file=$(_bulkhead_project_file) || return
    awk '
        /^[^ \t#-][^:]*:/ { sec = $0; sub(/:.*/, "", sec); ind = ""; cur = ""; next }
        sec != "environments" && sec != "shared" { next }
        /^[ \t]+[a-z][a-z0-9-]*[ \t]*:/ {
            lead = $0; sub(/[^ \t].*/, "", lead)
            if (ind == "") ind = lead
            if (lead == ind) {
                name = $0; sub(/^[ \t]+/, "", name); sub(/[ \t]*:.*/, "", name)
                print name; cur = name
            }
        }
        cur != "" && match($0, /regions[ \t]*:[ \t]*\[[^]]*\]/) {
            list = substr($0, RSTART, RLENGTH)
            sub(/^[^[]*\[/, "", list); sub(/\].*$/, "", list); gsub(/["\047]/, "", list)
            n = split(list, r, /[ \t,]+/)
            for (i = 1; i <= n; i++) if (r[i] ~ /^[a-z][a-z0-9-]*$/) print cur "/" r[i]
        }
    ' "$file" 2>/dev/null | LC_ALL=C sort -u
}

# Unit ids, of the environment given with --env if there is one.
_bulkhead_units()
{
    local bin=${COMP_WORDS[0]} dir env='' i
    bin=$(_bulkhead_path "$bin")
    [[ $bin == */* || -n $(type -P "$bin") ]] || bin=bulkhead
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == --env ]] && env=${COMP_WORDS[i + 1]}
        [[ ${COMP_WORDS[i]} == --env=* ]] && env=${COMP_WORDS[i]#--env=}
    done
    [[ $env =~ ^[a-z][a-z0-9/-]*$ ]] || env=
    dir=$(_bulkhead_dir)
    "$bin" ${dir:+-C "$dir"} -q graph --format json ${env:+--env "$env"} 2>/dev/null |
        sed -n 's/^ *"unit": "\([A-Za-z0-9._@+=\/-]*\)",\{0,1\}$/\1/p' | LC_ALL=C sort -u
}

# Branches, tags, remote branches and HEAD of the repository at hand.
_bulkhead_revs()
{
    local dir
    dir=$(_bulkhead_dir)
    printf '%s\n' HEAD
    git ${dir:+-C "$dir"} for-each-ref --format='%(refname:short)' \
        refs/heads refs/tags refs/remotes 2>/dev/null
}

_bulkhead_add_lines()
{
    local cur=$1 line
    while IFS= read -r line; do
        [[ $line =~ ^[A-Za-z0-9._@+=/~^-]+$ ]] || continue
        [[ $line == "$cur"* ]] && COMPREPLY+=("$line")
    done
}

_bulkhead()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local cmd='' i w
    COMPREPLY=()

    # --color=WHEN, whether or not COMP_WORDBREAKS splits at '='.
    if [[ $cur == --color=* ]]; then
        local when
        for when in auto always never; do
            [[ --color=$when == "$cur"* ]] && COMPREPLY+=("--color=$when")
        done
        return
    fi
    if [[ $cur == = || $prev == = ]] && [[ ${COMP_WORDS[COMP_CWORD - 1]} == --color || ${COMP_WORDS[COMP_CWORD - 2]} == --color ]]; then
        [[ $cur == = ]] && cur=
        _bulkhead_add "$cur" auto always never
        return
    fi

    # The command is the first word that is not an option or its argument.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -C | -j | --jobs | --rev | =) ((i++)) ;;
        -*) ;;
        *) cmd=$w; break ;;
        esac
    done

    # Option arguments.
    case $prev in
    -C | -o)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return ;;
    --baseline | --write-baseline)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return ;;
    -j | --jobs)
        mapfile -t COMPREPLY < <(compgen -W "$(seq 1 "$(nproc 2>/dev/null || echo 2)")" -- "$cur")
        return ;;
    --rev | --base | --head)
        _bulkhead_add_lines "$cur" < <(_bulkhead_revs)
        return ;;
    --env)
        _bulkhead_add_lines "$cur" < <(_bulkhead_envs)
        return ;;
    --unit)
        _bulkhead_add_lines "$cur" < <(_bulkhead_units)
        return ;;
    --format)
        case $cmd in
        drift | diff) _bulkhead_add "$cur" text json markdown sarif github ;;
        graph) _bulkhead_add "$cur" dot json ;;
        changes) _bulkhead_add "$cur" text json markdown ;;
        esac
        return ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            _bulkhead_add "$cur" "${_bulkhead_global_opts[@]}"
        else
            _bulkhead_add "$cur" "${_bulkhead_commands[@]}"
        fi
        [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == --color= ]] && compopt -o nospace 2>/dev/null
        return
    fi

    local opts
    case $cmd in
    build) opts=(--env --unit -o --check --allow-mocks) ;;
    show) opts=(--env --explain) ;;
    drift) opts=(--format --baseline --write-baseline --env --unit) ;;
    diff) opts=(--format --all --unit --baseline --write-baseline) ;;
    changes) opts=(--base --head --staged --format --exit-code) ;;
    graph) opts=(--env --format) ;;
    order) opts=(--env) ;;
    validate | init | help) opts=() ;;
    *) return ;;
    esac

    if [[ $cur == -* ]]; then
        _bulkhead_add "$cur" "${opts[@]}" "${_bulkhead_common_opts[@]}"
        [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == --color= ]] && compopt -o nospace 2>/dev/null
        return
    fi

    # Operands.
    local operands=0
    for ((i = i + 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -C | -o | --rev | --env | --unit | --format | --baseline | --write-baseline | --base | --head | =) ((i++)) ;;
        -*) ;;
        *) ((operands++)) ;;
        esac
    done
    case $cmd in
    show)
        ((operands == 0)) && _bulkhead_add_lines "$cur" < <(_bulkhead_units) ;;
    diff)
        ((operands < 2)) && _bulkhead_add_lines "$cur" < <(_bulkhead_envs) ;;
    help)
        ((operands == 0)) && _bulkhead_add "$cur" "${_bulkhead_commands[@]}" ;;
    init)
        if ((operands == 0)); then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        fi ;;
    esac
}

complete -F _bulkhead bulkhead
