// Package audit is the append-only record of every change to who may do
// what, and of the sensitive reads. An entry is written in the same
// transaction as a local change (RecordTx), or right after a call to
// Permit with its outcome (Record). The only changes ever made to an entry
// are its deletion after the retention period (Sweep) and the erasure of
// personal data when the person is deleted (EraseTx).
package audit

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/csvsafe"
	"reportgate/internal/database"
)

// Actors that are not a person.
const (
	ActorSystem = "system" // the app itself: sign-up, sync, reconcile
	ActorCLI    = "cli"    // reportgate's command line
)

// Action names.
const (
	RoleGranted      = "role.granted"
	RoleRemoved      = "role.removed"
	RoleChangeFailed = "role.change_failed"
	RequestOpened    = "request.opened"
	RequestApproved  = "request.approved"
	RequestDeclined  = "request.declined"
	RequestWithdrawn = "request.withdrawn"
	RequestFailed    = "request.failed"
	ReportExported   = "report.exported"
	SessionsRevoked  = "sessions.revoked"
)

// DefaultRetention is how long entries are kept when no retention is set:
// the REPORTGATE_AUDIT_RETENTION default.
const DefaultRetention = config.DefaultAuditRetention

// Entry is one audit record. ActorID is a Logto user id, ActorSystem or
// ActorCLI; Detail holds the reason, note or outcome.
type Entry struct {
	ID          int64
	At          time.Time
	ActorID     string
	ActorName   string
	Action      string
	SubjectID   string
	SubjectName string
	Role        string
	Permission  string
	Detail      string
	RequestID   int64 // 0: none
}

// Trail reads and writes the audit entries.
type Trail struct {
	db        *database.DB
	retention time.Duration
	now       func() time.Time
}

// New returns the trail over db. retention 0 → DefaultRetention; now nil →
// time.Now.
func New(db *database.DB, retention time.Duration, now func() time.Time) *Trail {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if now == nil {
		now = time.Now
	}
	return &Trail{db: db, retention: retention, now: now}
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Record writes e on its own, for a change that is not in this database
// (a Permit call, after it returned).
func (t *Trail) Record(ctx context.Context, e Entry) error {
	return t.record(ctx, t.db, e)
}

// RecordTx writes e in tx, the transaction of the change it records.
func (t *Trail) RecordTx(ctx context.Context, tx *sql.Tx, e Entry) error {
	return t.record(ctx, tx, e)
}

func (t *Trail) record(ctx context.Context, ex execer, e Entry) error {
	if e.At.IsZero() {
		e.At = t.now()
	}
	var request sql.NullInt64
	if e.RequestID != 0 {
		request = sql.NullInt64{Int64: e.RequestID, Valid: true}
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO audit_entries (at, actor_id, actor_name, action, subject_id,
		subject_name, role, permission, detail, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.At.UnixMilli(), e.ActorID, e.ActorName, e.Action, e.SubjectID, e.SubjectName, e.Role, e.Permission,
		e.Detail, request)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	Person string // subject id
	Actor  string // actor id, ActorSystem or ActorCLI
	Action string
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			conds = append(conds, col+" = $"+strconv.Itoa(len(args)))
		}
	}
	add("subject_id", f.Person)
	add("actor_id", f.Actor)
	add("action", f.Action)
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// List returns the entries matching f, newest first, limit of them from
// offset (limit ≤ 0: all), and how many match in all.
func (t *Trail) List(ctx context.Context, f Filter, limit, offset int) ([]Entry, int, error) {
	where, args := f.where()
	var total int
	if err := t.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_entries`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	q := `SELECT id, at, actor_id, actor_name, action, subject_id, subject_name, role, permission, detail,
		request_id FROM audit_entries` + where + ` ORDER BY at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(offset, 0))
	}
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var request sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &e.Action, &e.SubjectID, &e.SubjectName,
			&e.Role, &e.Permission, &e.Detail, &request); err != nil {
			return nil, 0, fmt.Errorf("list audit entries: %w", err)
		}
		e.At, e.RequestID = time.UnixMilli(at).UTC(), request.Int64
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list audit entries: %w", err)
	}
	return out, total, nil
}

// Sweep deletes the entries older than the retention period and returns
// how many went.
func (t *Trail) Sweep(ctx context.Context) (int64, error) {
	res, err := t.db.ExecContext(ctx, `DELETE FROM audit_entries WHERE at < $1`, t.now().Add(-t.retention).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep audit entries: %w", err)
	}
	return res.RowsAffected()
}

// EraseTx erases, in tx (the deletion's own transaction), everything
// personal about userID from the entries: their name as actor or subject,
// and the free text (reasons, notes) of the entries about them. Their id
// stays, so the history still holds together.
func EraseTx(ctx context.Context, tx *sql.Tx, userID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE audit_entries SET subject_name = '', detail = '' WHERE subject_id = $1`, userID); err != nil {
		return fmt.Errorf("erase audit subject: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_entries SET actor_name = '' WHERE actor_id = $1`, userID); err != nil {
		return fmt.Errorf("erase audit actor: %w", err)
	}
	return nil
}

// WriteCSV writes entries as CSV, with cells a spreadsheet would read as a
// formula escaped as in the report export.
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"time", "actor_id", "actor_name", "action", "subject_id", "subject_name", "role",
		"permission", "detail", "request_id"}}
	for _, e := range entries {
		request := ""
		if e.RequestID != 0 {
			request = strconv.FormatInt(e.RequestID, 10)
		}
		rows = append(rows, []string{e.At.UTC().Format(time.RFC3339), e.ActorID, e.ActorName, e.Action,
			e.SubjectID, e.SubjectName, e.Role, e.Permission, e.Detail, request})
	}
	for _, row := range rows {
		if err := cw.Write(csvsafe.Row(row)); err != nil {
			return fmt.Errorf("write audit csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write audit csv: %w", err)
	}
	return nil
}
