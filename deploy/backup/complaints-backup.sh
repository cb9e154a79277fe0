#!/usr/bin/env bash
# Nightly backup of the complaints chatbot's databases: one pg_dump file (custom format) per database,
# checked with pg_restore --list, flushed to disk, renamed into place; then dumps older than
# BACKUP_KEEP_DAYS are deleted. Exits non-zero if anything fails (the systemd unit then shows as failed).
#
# Run by complaints-backup.service as the postgres OS user (peer authentication on the local socket).
# Install a root-owned copy, never run the one in the checkout (the checkout belongs to the service user):
#   install -m 0755 -o root -g root deploy/backup/complaints-backup.sh /usr/local/sbin/complaints-backup
#   install -d -m 0700 -o postgres -g postgres /var/backups/complaints
#
# Settings (environment):
#   BACKUP_DIR         where the dumps go                     default /var/backups/complaints
#   BACKUP_KEEP_DAYS   days a dump is kept                    default 14
#   BACKUP_DATABASES   databases to dump, space-separated     default "complaints rasa"
#   PGHOST, PGPORT, PGUSER, PGPASSFILE, ...   libpq's own variables, for a database on another machine
# Files: <database>-<UTC time>.dump and <database>-<UTC time>.dump.sha256, e.g. complaints-20261127T023000Z.dump
# The dumps hold personal data: keep copies off the machine encrypted, and no longer than BACKUP_KEEP_DAYS.
#
# Check a dump without touching anything (this script does it for every new dump):
#   pg_restore --list /var/backups/complaints/complaints-20261127T023000Z.dump | head
#   sha256sum -c /var/backups/complaints/complaints-20261127T023000Z.dump.sha256   (run inside that folder)
#
# Restore drill (into a scratch database; production keeps running):
#   sudo -u postgres createdb -O complaints complaints_drill
#   sudo -u postgres pg_restore --dbname=complaints_drill --no-owner --role=complaints --exit-on-error \
#       /var/backups/complaints/complaints-20261127T023000Z.dump
#   sudo -u postgres psql -d complaints_drill -c 'SELECT version_num FROM alembic_version' \
#       -c 'SELECT count(*), max(created_at) FROM cases'
#   sudo -u postgres dropdb complaints_drill
#
# Restore for real (services stopped; the current database is renamed, not dropped, until you are sure):
#   systemctl stop complaints.target
#   sudo -u postgres psql -c 'ALTER DATABASE complaints RENAME TO complaints_before_restore'
#   sudo -u postgres createdb -O complaints complaints
#   sudo -u postgres pg_restore --dbname=complaints --no-owner --role=complaints --exit-on-error \
#       --single-transaction /var/backups/complaints/complaints-<time>.dump
#   (the same for rasa: ALTER DATABASE rasa RENAME ..., createdb -O rasa rasa, pg_restore ... --role=rasa)
#   complaintsctl migrate && systemctl start complaints.target && complaintsctl status
set -euo pipefail
umask 077

backup_dir=${BACKUP_DIR:-/var/backups/complaints}
keep_days=${BACKUP_KEEP_DAYS:-14}
databases=${BACKUP_DATABASES:-complaints rasa}

log() { printf 'complaints-backup: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

[[ $keep_days =~ ^[0-9]+$ ]] || fail "BACKUP_KEEP_DAYS must be a whole number of days, got '$keep_days'"
me=$(id -un)
[[ -d $backup_dir && -w $backup_dir ]] || fail "$backup_dir is missing or not writable by $me"
read -r -a database_list <<<"$databases"
((${#database_list[@]} > 0)) || fail "BACKUP_DATABASES is empty"
for tool in pg_dump pg_restore sha256sum; do
    command -v "$tool" >/dev/null || fail "$tool not found"
done

partial=""
cleanup() {
    if [[ -n $partial && -e $partial ]]; then
        rm -f -- "$partial"
    fi
}
trap cleanup EXIT

stamp=$(date -u +%Y%m%dT%H%M%SZ)
for database in "${database_list[@]}"; do
    name="$database-$stamp.dump"
    target="$backup_dir/$name"
    partial="$target.partial"
    started=$SECONDS
    pg_dump --format=custom --compress=6 --no-password --dbname="$database" --file="$partial" \
        || fail "pg_dump of $database failed"
    # A dump that pg_restore cannot read is no backup.
    pg_restore --list "$partial" >/dev/null || fail "pg_restore cannot read the dump of $database"
    # Flush the data before the rename makes the file count as a backup (sync FILE: coreutils >= 8.24).
    sync -- "$partial"
    mv -- "$partial" "$target"
    partial=""
    (cd -- "$backup_dir" && sha256sum -- "$name" >"$name.sha256")
    size=$(du -h -- "$target" | cut -f1)
    log "$database: $target ($size, $((SECONDS - started)) s)"
done
# The renames themselves.
sync -- "$backup_dir"

# Only after every dump succeeded: delete old dumps (and leftovers of interrupted runs).
find "$backup_dir" -maxdepth 1 -type f \( -name '*.dump' -o -name '*.dump.sha256' \) -mtime +"$keep_days" \
    -print -delete | sed 's/^/complaints-backup: deleted /' >&2
find "$backup_dir" -maxdepth 1 -type f -name '*.dump.partial' -mmin +1440 -delete
log "done; dumps older than $keep_days days deleted"
