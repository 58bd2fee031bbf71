# Sourced by the launchers in bin/: find Python >= 3.11, keep a virtualenv of the project up to
# date, and make sure fio is installed. Every step says exactly what to do when it cannot act.

qlab_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
qlab_venv="${QLAB_VENV:-$qlab_repo/.venv}"

qlab_say() { printf 'pytest-qlab: %s\n' "$*" >&2; }
qlab_die() { qlab_say "$*"; exit 1; }

qlab_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else return 1
    fi
}

qlab_find_python() {
    local candidate
    for candidate in "${QLAB_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

qlab_ensure_python() {
    qlab_python="$(qlab_find_python)" && return 0
    if [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
        qlab_say "installing Python 3.12 with Homebrew (macOS ships an older one)"
        brew install python@3.12 && qlab_python="$(qlab_find_python)" && return 0
    fi
    qlab_die "Python 3.11 or newer is needed: install it (macOS: brew install python@3.12;" \
        "Debian/Ubuntu: sudo apt-get install python3 python3-venv), or set QLAB_PYTHON"
}

# qlab_ensure_venv EXTRAS: (re)install the project when pyproject.toml or the extras changed.
qlab_ensure_venv() {
    local extras="$1" spec stamp want
    spec="$qlab_repo"
    [ -n "$extras" ] && spec="$qlab_repo[$extras]"
    if [ ! -x "$qlab_venv/bin/python" ]; then
        qlab_ensure_python
        qlab_say "creating the virtualenv $qlab_venv"
        "$qlab_python" -m venv "$qlab_venv" ||
            qlab_die "could not create a virtualenv; on Debian/Ubuntu run: sudo apt-get install python3-venv"
    fi
    stamp="$qlab_venv/.pytest-qlab-installed"
    want="$(cksum <"$qlab_repo/pyproject.toml") extras=$extras"
    if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
        qlab_say "installing pytest-qlab and its dependencies into $qlab_venv"
        "$qlab_venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" ||
            qlab_die "pip could not install pytest-qlab (see above); check the network and retry"
        printf '%s\n' "$want" >"$stamp"
    fi
}

qlab_ensure_fio() {
    local os arch
    os="$(uname -s | tr '[:upper:]' '[:lower:]')"
    arch="$(uname -m)"
    [ -n "${QLAB_FIO:-}" ] && return 0
    [ -x "$qlab_repo/bin/fio-$os-$arch" ] && return 0
    command -v fio >/dev/null 2>&1 && return 0
    if [ "$os" = darwin ]; then
        command -v brew >/dev/null 2>&1 ||
            qlab_die "fio is not installed and Homebrew is missing: install Homebrew (https://brew.sh), then run: brew install fio"
        qlab_say "installing fio with Homebrew"
        brew install fio || qlab_die "brew install fio failed (see above)"
    elif command -v apt-get >/dev/null 2>&1; then
        qlab_say "installing fio with apt-get"
        { qlab_as_root apt-get update -qq && qlab_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio >/dev/null; } ||
            qlab_die "could not install fio; run: sudo apt-get install fio"
    else
        qlab_die "fio is not installed: install it with your package manager, or pass --fio PATH"
    fi
    command -v fio >/dev/null 2>&1 || qlab_die "fio is still not on PATH after installing it"
}
