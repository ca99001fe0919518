#!/usr/bin/env bash
# scripts/db.sh — a private local PostgreSQL + pgvector for development and tests.
#
#   scripts/db.sh start   install what is missing, start the cluster, print DATABASE_URL=…  (make db)
#   scripts/db.sh stop    stop the cluster if it is running                                 (make db-stop)
#   scripts/db.sh url     print DATABASE_URL=… without starting anything
#
# The cluster lives in <repo>/.local/pg (git-ignored; RELATOR_DB_DIR moves it), listens on 127.0.0.1:${RELATOR_DB_PORT:-54329}
# only, uses trust auth for the superuser "relator" and never touches any other cluster on the
# machine (no pg_ctlcluster, no system service). Run as root, it installs what is missing with apt
# and runs the server as the "postgres" system user (initdb/postgres refuse to run as root); run
# as anyone else, it installs nothing and runs the server as that user.
set -euo pipefail

# stdout carries exactly one line (DATABASE_URL=…) so callers can capture it; everything else,
# including apt/make/initdb chatter, goes to stderr. fd 3 is the real stdout.
exec 3>&1 1>&2

# A caller's PGHOST/PGPORT/PGDATA/PGOPTIONS/… would silently redirect or alter our pg_ctl/psql calls.
unset "${!PG@}"

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PORT=${RELATOR_DB_PORT:-54329}
DB_NAME=relator
DB_ROLE=relator
PREFERRED_MAJOR=15
export DEBIAN_FRONTEND=noninteractive

# Where the cluster lives: in the repo, or — if the server's user cannot reach the repo — in /tmp;
# RELATOR_DB_DIR, when set, instead (a second private cluster, e.g. one a test stops and starts).
PRIMARY_STATE_DIR=$REPO_ROOT/.local/pg
FALLBACK_STATE_DIR=/tmp/relator-pg-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)
if [[ -n ${RELATOR_DB_DIR:-} ]]; then
	[[ $RELATOR_DB_DIR == /* ]] || { printf 'db.sh: error: RELATOR_DB_DIR must be an absolute path\n' >&2; exit 1; }
	PRIMARY_STATE_DIR=$RELATOR_DB_DIR FALLBACK_STATE_DIR=$RELATOR_DB_DIR
fi

# The OS user that owns the data directory and runs the server.
if ((EUID == 0)); then DB_USER=postgres; else DB_USER=$(id -un); fi

STATE_DIR='' DATA_DIR='' LOG_FILE='' PG_BIN='' BUILD_DIR='' APT_UPDATED=''

log() { printf 'db.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

cleanup() {
	if [[ -n $BUILD_DIR ]]; then rm -rf "$BUILD_DIR"; fi
}
trap cleanup EXIT

database_url() {
	printf 'DATABASE_URL=postgres://%s@127.0.0.1:%s/%s?sslmode=disable\n' "$DB_ROLE" "$PORT" "$DB_NAME" >&3
}

check_port() {
	if [[ ! $PORT =~ ^[0-9]+$ ]] || ((PORT < 1024 || PORT > 65535)); then
		die "RELATOR_DB_PORT must be a port number between 1024 and 65535, got '$PORT'"
	fi
}

# Run a command as the server's user. cd / first: the caller's cwd (e.g. /root) may be unreadable
# for that user, and initdb/postgres complain about it.
as_db_user() {
	if ((EUID == 0)); then
		(cd / && runuser -u "$DB_USER" -- "$@")
	else
		"$@"
	fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL server binaries (Debian/Ubuntu layout: /usr/lib/postgresql/<major>/bin)

installed_majors() {
	local f
	for f in /usr/lib/postgresql/*/bin/postgres; do
		if [[ -x $f ]]; then basename "$(dirname "$(dirname "$f")")"; fi
	done | sort -n
}

# Prefer 15 (what CI and bookworm ship), else the newest installed major.
pick_major() {
	local majors
	majors=$(installed_majors)
	if grep -qx "$PREFERRED_MAJOR" <<<"$majors"; then
		echo "$PREFERRED_MAJOR"
	else
		tail -n 1 <<<"$majors"
	fi
}

apt_update_once() {
	if [[ -z $APT_UPDATED ]]; then
		log "apt-get update"
		apt-get update -q
		APT_UPDATED=1
	fi
}

apt_install() {
	apt_update_once
	log "apt-get install $*"
	# Lock::Timeout: wait for another apt/dpkg (e.g. a second checkout's db.sh) instead of failing.
	apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "$@"
}

apt_has_candidate() {
	local candidate
	candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	[[ -n $candidate && $candidate != "(none)" ]]
}

# Sets PG_BIN. An existing data directory pins the major version (its files only work with it);
# otherwise use what is installed, installing the distro's default "postgresql" if nothing is.
ensure_server() {
	local major=
	if [[ -n $DATA_DIR && -f $DATA_DIR/PG_VERSION ]]; then
		major=$(<"$DATA_DIR/PG_VERSION")
		if [[ ! -x /usr/lib/postgresql/$major/bin/postgres ]]; then
			((EUID == 0)) || die "$DATA_DIR was created by PostgreSQL $major, which is not installed." \
				"As root run: apt-get install postgresql-$major  (or delete $DATA_DIR to start afresh)"
			apt_install "postgresql-$major"
		fi
	else
		major=$(pick_major)
		if [[ -z $major ]]; then
			((EUID == 0)) || die "no PostgreSQL server is installed (looked in /usr/lib/postgresql/*/bin)." \
				"As root run: apt-get install postgresql  (or run this script as root)"
			apt_install postgresql
			major=$(pick_major)
			[[ -n $major ]] || die "installed 'postgresql' but found no server under /usr/lib/postgresql/*/bin"
		fi
	fi
	PG_BIN=/usr/lib/postgresql/$major/bin
	log "using PostgreSQL $major ($PG_BIN)"
}

# ---------------------------------------------------------------------------------------------
# pgvector

pg_major() { basename "$(dirname "$PG_BIN")"; }

pgvector_installed() {
	[[ -f "$("$PG_BIN/pg_config" --sharedir)/extension/vector.control" &&
		-f "$("$PG_BIN/pg_config" --pkglibdir)/vector.so" ]]
}

# Binary package where the distro has one (Ubuntu, Debian trixie+, PGDG); otherwise build
# Debian trixie's source, which builds fine against older server headers (bookworm has no pgvector).
ensure_pgvector() {
	local major
	major=$(pg_major)
	pgvector_installed && return
	((EUID == 0)) || die "pgvector is not installed for PostgreSQL $major." \
		"As root run: apt-get install postgresql-$major-pgvector  (where that package exists), or run" \
		"this script as root (sudo $0 start): it builds pgvector from Debian's source when there is no package."
	apt_update_once
	if apt_has_candidate "postgresql-$major-pgvector"; then
		apt_install "postgresql-$major-pgvector"
	else
		log "no postgresql-$major-pgvector package here; building pgvector from Debian trixie's source"
		build_pgvector_from_trixie "$major"
	fi
	pgvector_installed || die "pgvector install finished but vector.control/vector.so are still missing for PostgreSQL $major"
}

build_pgvector_from_trixie() {
	local major=$1 keyring=/usr/share/keyrings/debian-archive-keyring.gpg orig
	# build-essential brings gcc, make and dpkg-dev (which apt-get source may want).
	apt_install "postgresql-server-dev-$major" build-essential

	BUILD_DIR=$(mktemp -d /tmp/relator-pgvector.XXXXXX)
	mkdir -p "$BUILD_DIR/lists/partial" "$BUILD_DIR/download" "$BUILD_DIR/src"
	# apt downloads as the unprivileged _apt user when it can write the target directory.
	chmod 0755 "$BUILD_DIR"
	if id _apt >/dev/null 2>&1; then chown _apt "$BUILD_DIR/download"; fi

	# A private sources list, lists dir and no on-disk caches: the trixie deb-src entry never
	# reaches the system's apt configuration or package cache.
	# Ubuntu lacks Debian's archive keys unless this package is installed.
	[[ -f $keyring ]] || apt_install debian-archive-keyring
	echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian trixie main" >"$BUILD_DIR/sources.list"
	local apt_private=(
		-o "Dir::Etc::sourcelist=$BUILD_DIR/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$BUILD_DIR/lists"
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	)
	apt-get "${apt_private[@]}" update -q
	(cd "$BUILD_DIR/download" && apt-get "${apt_private[@]}" source --download-only pgvector)

	orig=("$BUILD_DIR"/download/pgvector_*.orig.tar.*)
	[[ -f ${orig[0]} ]] || die "apt-get source pgvector did not produce an .orig tarball"
	tar -xf "${orig[0]}" -C "$BUILD_DIR/src" --strip-components=1
	log "building $(basename "${orig[0]}") against PostgreSQL $major"
	# OPTFLAGS= : no -march=native, so the installed library does not depend on this exact CPU.
	make -s -C "$BUILD_DIR/src" -j"$(nproc)" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS=
	make -s -C "$BUILD_DIR/src" install PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS=
}

# ---------------------------------------------------------------------------------------------
# The private cluster

ensure_db_user() {
	((EUID == 0)) || return 0
	id "$DB_USER" >/dev/null 2>&1 && return
	log "creating system user $DB_USER"
	useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
		--shell /usr/sbin/nologin "$DB_USER"
}

set_state_dir() {
	STATE_DIR=$1
	DATA_DIR=$STATE_DIR/data
	LOG_FILE=$STATE_DIR/postgres.log
}

find_existing_cluster() {
	local dir
	for dir in "$PRIMARY_STATE_DIR" "$FALLBACK_STATE_DIR"; do
		if [[ -f $dir/data/PG_VERSION ]]; then
			set_state_dir "$dir"
			return
		fi
	done
}

# The server's user must be able to reach .local/pg. The repo's parents are usually 0755, but a
# repo under e.g. /root (0700) is not reachable for "postgres": then use a per-repo dir in /tmp.
choose_state_dir() {
	if [[ -n ${RELATOR_DB_DIR:-} ]]; then
		set_state_dir "$RELATOR_DB_DIR"
		return
	fi
	[[ -d $REPO_ROOT/.local ]] || mkdir -m 0755 "$REPO_ROOT/.local"
	if as_db_user test -x "$REPO_ROOT/.local"; then
		set_state_dir "$PRIMARY_STATE_DIR"
	else
		log "user $DB_USER cannot reach $REPO_ROOT/.local; using $FALLBACK_STATE_DIR instead"
		set_state_dir "$FALLBACK_STATE_DIR"
	fi
}

# The state dir must be a real directory owned by the server's user (in /tmp, anyone could have
# created it first).
ensure_state_dir() {
	if [[ ! -e $STATE_DIR ]]; then
		mkdir -m 0755 "$STATE_DIR"
		((EUID != 0)) || chown "$DB_USER:" "$STATE_DIR"
	fi
	[[ -d $STATE_DIR && ! -L $STATE_DIR ]] || die "$STATE_DIR is not a directory"
	[[ $(stat -c %U "$STATE_DIR") == "$DB_USER" ]] ||
		die "$STATE_DIR is owned by $(stat -c %U "$STATE_DIR"), not $DB_USER; remove it or fix its owner"
}

init_cluster() {
	[[ -f $DATA_DIR/PG_VERSION ]] && return
	local locale=C
	if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
	log "initdb $DATA_DIR (locale $locale)"
	as_db_user "$PG_BIN/initdb" -D "$DATA_DIR" --auth=trust -U "$DB_ROLE" -E UTF8 \
		--locale="$locale" --no-instructions >/dev/null
}

# Our settings live in relator.conf, rewritten on every start so that a new RELATOR_DB_PORT applies.
write_config() {
	local socket_dir=$STATE_DIR include="include_if_exists = 'relator.conf'"
	if ! as_db_user grep -qxF "$include" "$DATA_DIR/postgresql.conf"; then
		echo "$include" | as_db_user tee -a "$DATA_DIR/postgresql.conf" >/dev/null
	fi
	# Unix socket paths are limited to 107 bytes; in a deep checkout go TCP-only rather than fail.
	if ((${#socket_dir} + ${#PORT} + 10 > 107)); then
		log "path too long for a unix socket; the server listens on TCP 127.0.0.1:$PORT only"
		socket_dir=
	fi
	as_db_user tee "$DATA_DIR/relator.conf" >/dev/null <<EOF
# Written by scripts/db.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '${socket_dir//\'/\'\'}'
max_connections = 200
shared_buffers = 256MB
EOF
}

# Line N of postmaster.pid: 1 = PID, 4 = port.
postmaster_pid_line() {
	as_db_user sed -n "$1p" "$DATA_DIR/postmaster.pid" 2>/dev/null || true
}

# Our own test instead of `pg_ctl status`, which believes any live process with the PID in
# postmaster.pid: after a crash or reboot that PID can belong to something else (or be an
# unreaped zombie), and then nothing would ever start the server. A real postmaster's working
# directory is its data directory.
cluster_running() {
	local pid
	pid=$(postmaster_pid_line 1)
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(cd "$DATA_DIR" && pwd -P)" ]]
}

# Run a command with only stdin/stdout/stderr open. The server would otherwise inherit, and hold
# for its whole life, whatever else is open: our captured stdout (fd 3: a caller's
# $(scripts/db.sh start) would never return), the lock (fd 9: every later run would wait on it),
# make's jobserver pipes, ...
without_inherited_fds() {
	(
		local fd
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-"; fi
		done
		"$@"
	)
}

ensure_port_free() {
	local ready=0
	# pg_isready: 0 = accepting, 1 = rejecting (e.g. starting up), 2 = no response.
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || ready=$?
	if ((ready <= 1)); then
		die "another server already listens on 127.0.0.1:$PORT; pick another port with RELATOR_DB_PORT"
	fi
}

# Left behind when the server died without a clean shutdown. postgres ignores them by itself
# unless the PID in them is alive again (reused after a reboot, or a zombie not yet reaped in a
# container). This cluster is not running (see cluster_running) and the socket dir is private, so
# they are ours and stale; should orphaned backends survive, postgres still refuses to start
# while they hold the old shared memory.
remove_stale_lock_files() {
	local f
	for f in "$DATA_DIR/postmaster.pid" "$STATE_DIR/.s.PGSQL.$PORT.lock"; do
		if as_db_user test -e "$f"; then
			log "removing stale $f"
			as_db_user rm -f "$f"
		fi
	done
}

start_cluster() {
	if cluster_running; then
		[[ $(postmaster_pid_line 4) == "$PORT" ]] && return
		ensure_port_free
		log "cluster is running on port $(postmaster_pid_line 4); restarting it on $PORT"
		as_db_user "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w -s
	else
		ensure_port_free
		remove_stale_lock_files
	fi
	log "starting cluster in $DATA_DIR on 127.0.0.1:$PORT (log: $LOG_FILE)"
	if ! without_inherited_fds as_db_user "$PG_BIN/pg_ctl" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 -s; then
		tail -n 20 "$LOG_FILE" >&2 || true
		die "the server did not start; see $LOG_FILE"
	fi
}

# client_min_messages: no "already exists, skipping" notices on every run.
psql_as_role() {
	PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$DB_ROLE" "$@"
}

ensure_database() {
	local exists
	exists=$(psql_as_role -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")
	if [[ $exists != 1 ]]; then
		log "creating database $DB_NAME"
		psql_as_role -d postgres -c "CREATE DATABASE $DB_NAME"
	fi
}

# CREATE EXTENSION proves the SQL files are found; the distance query proves vector.so loads.
verify_pgvector() {
	psql_as_role -d "$DB_NAME" -tA -c "CREATE EXTENSION IF NOT EXISTS vector" \
		-c "SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector" >/dev/null ||
		die "pgvector does not work in database $DB_NAME (see the psql error above)"
}

# ---------------------------------------------------------------------------------------------
# Commands

# Serialise concurrent runs on this checkout (e.g. parallel make targets): one installs/starts,
# the others then find the server running. fd 9 stays open until the script exits.
lock_checkout() {
	exec 9<"${BASH_SOURCE[0]}"
	flock -w 600 9 || die "timed out waiting for another $0 to finish"
}

cmd_start() {
	check_port
	lock_checkout
	# An existing cluster decides both where we run and which PostgreSQL major we need.
	find_existing_cluster
	ensure_server
	ensure_pgvector
	ensure_db_user # after the installs: the postgresql packages normally create it
	[[ -n $STATE_DIR ]] || choose_state_dir
	ensure_state_dir
	init_cluster
	write_config
	start_cluster
	ensure_database
	verify_pgvector
	database_url
}

cmd_stop() {
	local dir any=
	lock_checkout
	for dir in "$PRIMARY_STATE_DIR" "$FALLBACK_STATE_DIR"; do
		set_state_dir "$dir"
		[[ -f $DATA_DIR/PG_VERSION ]] || continue
		PG_BIN=/usr/lib/postgresql/$(<"$DATA_DIR/PG_VERSION")/bin
		((EUID != 0)) || DB_USER=$(stat -c %U "$DATA_DIR")
		if cluster_running; then
			log "stopping cluster in $DATA_DIR"
			as_db_user "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w -s
			any=1
		fi
	done
	[[ -n $any ]] || log "no cluster of this repo is running"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
url)
	check_port
	database_url
	;;
*)
	echo "usage: $0 start|stop|url" >&2
	exit 2
	;;
esac
