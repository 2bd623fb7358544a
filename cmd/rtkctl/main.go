// Command rtkctl administers an rtk-sidecar through its REST API (with
// Cloudflare's Go SDK as the HTTP client): meetings, participants, connected
// meetings (breakout rooms), webhooks and their deliveries. One command,
// "migrations status", reads the database instead: the schema is no business
// of the API.
//
//	rtkctl [flags] <group> <command> [arguments]
//
// The flags default to the environment: -url RTK_URL (http://127.0.0.1:8080),
// -key RTK_API_KEY, -account RTK_ACCOUNT_ID, -app RTK_APP_ID; and the -dsn
// of migrations status to SIDECAR_STORE_DSN. Answers are printed as JSON (the data of RealtimeKit's
// envelope); errors go to stderr with the server's message, and the exit
// status is 1 (2 for a usage error).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"

	"rtk-sidecar/store/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// command is one rtkctl command: group and name, its arguments for the
// usage, what it does, and how.
type command struct {
	group, name, args, doc string
	run                    func(c *cli, ctx context.Context, fs *flag.FlagSet, args []string) error
}

// commands are rtkctl's commands, in the order the usage lists them.
var commands = []command{
	{"meetings", "list", "[-search TEXT] [-page N]", "the app's meetings, newest first", (*cli).meetingsList},
	{"meetings", "create", "-title TITLE", "create a meeting", (*cli).meetingsCreate},
	{"meetings", "get", "MEETING", "one meeting", (*cli).meetingsGet},
	{"meetings", "end", "MEETING", "make a meeting INACTIVE (nobody can join it)", (*cli).meetingsEnd},
	{"participants", "list", "MEETING [-page N]", "the meeting's participants", (*cli).participantsList},
	{"participants", "add", "MEETING -preset PRESET [-name NAME] [-id CUSTOM_ID]", "add a participant; the answer holds its token", (*cli).participantsAdd},
	{"participants", "remove", "MEETING PARTICIPANT", "remove a participant", (*cli).participantsRemove},
	{"rooms", "state", "MEETING", "the connected meetings (breakout rooms) of a meeting, and who is where", (*cli).roomsState},
	{"rooms", "create", "MEETING (-count N | TITLE...)", "create breakout rooms", (*cli).roomsCreate},
	{"rooms", "assign", "MEETING [-hosts] [ROOM=PARTICIPANT,... ...]", "assign participants to rooms: evenly, or as given", (*cli).roomsAssign},
	{"rooms", "start", "MEETING [-duration D] [-warning D] [-late]", "start the rooms (optionally closing after D; -late places late joiners)", (*cli).roomsStart},
	{"rooms", "close", "MEETING [-grace D]", "close the rooms, after a countdown of D", (*cli).roomsClose},
	{"rooms", "move", "MEETING -from ROOM -to ROOM PARTICIPANT...", "move participants (ROOM \"parent\" is MEETING)", (*cli).roomsMove},
	{"webhooks", "list", "", "the app's webhooks", (*cli).webhooksList},
	{"webhooks", "deliveries", "WEBHOOK [-status pending|delivered|failed|dead] [-page N]", "a webhook's deliveries, oldest first", (*cli).webhooksDeliveries},
	{"webhooks", "dead", "WEBHOOK [-page N]", "a webhook's dead letters", (*cli).webhooksDead},
	{"webhooks", "redeliver", "WEBHOOK DELIVERY", "send a failed or dead delivery again", (*cli).webhooksRedeliver},
	{"migrations", "status", "[-dsn DSN]", "the database's schema migrations (reads the database, not the API)", (*cli).migrationsStatus},
}

// errUsage marks a usage error (exit status 2).
var errUsage = errors.New("usage")

// cli runs commands against one sidecar and one app.
type cli struct {
	api     *cloudflare.Client
	baseURL string
	app     string // accounts/<account>/realtime/kit/<app>, the path of the app's API
	dsn     string
	out     io.Writer
}

// run runs rtkctl with args and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("rtkctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", or(getenv("RTK_URL"), "http://127.0.0.1:8080"), "the sidecar's URL (RTK_URL)")
	key := fs.String("key", getenv("RTK_API_KEY"), "an API key (RTK_API_KEY)")
	account := fs.String("account", getenv("RTK_ACCOUNT_ID"), "the account id (RTK_ACCOUNT_ID)")
	app := fs.String("app", getenv("RTK_APP_ID"), "the app id (RTK_APP_ID)")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) < 2 {
		fs.Usage()
		return 2
	}
	var cmd *command
	for i := range commands {
		if commands[i].group == rest[0] && commands[i].name == rest[1] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "rtkctl: no command %q\n", strings.Join(rest[:2], " "))
		fs.Usage()
		return 2
	}
	c := &cli{baseURL: strings.TrimRight(*base, "/"), dsn: getenv("SIDECAR_STORE_DSN"), out: stdout,
		app: "accounts/" + url.PathEscape(*account) + "/realtime/kit/" + url.PathEscape(*app)}
	if cmd.group != "migrations" {
		var missing []string
		for _, f := range []struct{ name, value string }{
			{"-key (RTK_API_KEY)", *key}, {"-account (RTK_ACCOUNT_ID)", *account}, {"-app (RTK_APP_ID)", *app},
		} {
			if f.value == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(stderr, "rtkctl: %s %s needs %s\n", cmd.group, cmd.name, strings.Join(missing, ", "))
			return 2
		}
		c.api = cloudflare.NewClient(option.WithBaseURL(c.baseURL+"/client/v4/"), option.WithAPIToken(*key),
			option.WithMaxRetries(0), option.WithRequestTimeout(30*time.Second))
	}
	cfs := flag.NewFlagSet(cmd.group+" "+cmd.name, flag.ContinueOnError)
	cfs.SetOutput(stderr)
	cfs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rtkctl %s %s %s\n", cmd.group, cmd.name, cmd.args)
		cfs.PrintDefaults()
	}
	err := cmd.run(c, ctx, cfs, rest[2:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "rtkctl: %v\n", err)
		}
		cfs.Usage()
		return 2
	default:
		fmt.Fprintf(stderr, "rtkctl: %s %s: %s\n", cmd.group, cmd.name, message(err))
		return 1
	}
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: rtkctl [flags] <group> <command> [arguments]")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s %s\t%s\n", c.group, c.name, c.args, c.doc)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "flags:")
	fs.PrintDefaults()
}

// message is what the user is told of err: the server's message when the
// server answered with an error.
func message(err error) string {
	var apiErr *cloudflare.Error
	if errors.As(err, &apiErr) {
		msg := fmt.Sprintf("HTTP %d", apiErr.StatusCode)
		if len(apiErr.Errors) > 0 && apiErr.Errors[0].Message != "" {
			msg += ": " + apiErr.Errors[0].Message
		}
		return msg
	}
	return err.Error()
}

// parse parses a command's flags and arguments, which may come in any
// order, and checks that there are n positional arguments (n < 0: at least
// -n).
func parse(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	switch {
	case n >= 0 && len(pos) != n:
		return nil, fmt.Errorf("%w: %d arguments, want %d", errUsage, len(pos), n)
	case n < 0 && len(pos) < -n:
		return nil, fmt.Errorf("%w: %d arguments, want at least %d", errUsage, len(pos), -n)
	}
	return pos, nil
}

// call sends a request to the app's API (path under it, with query) and
// prints the answer's data.
func (c *cli) call(ctx context.Context, method, path string, query url.Values, body any) error {
	data, err := c.request(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	return c.print(data)
}

// request sends a request to the app's API and returns the data of the
// answer's envelope.
func (c *cli) request(ctx context.Context, method, path string, query url.Values, body any) (json.RawMessage, error) {
	p := c.app + path
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	var raw []byte
	if err := c.api.Execute(ctx, method, p, body, &raw); err != nil {
		return nil, err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("the answer is not RealtimeKit's envelope: %w", err)
	}
	return env.Data, nil
}

func (c *cli) print(data json.RawMessage) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// pageQuery adds -page to fs and returns the query it makes.
func pageQuery(fs *flag.FlagSet) func() url.Values {
	page := fs.Int("page", 1, "the page (100 a page)")
	return func() url.Values {
		return url.Values{"page_no": {strconv.Itoa(*page)}, "per_page": {"100"}}
	}
}

// ---- meetings and participants ----

func (c *cli) meetingsList(ctx context.Context, fs *flag.FlagSet, args []string) error {
	search := fs.String("search", "", "a substring of the title")
	q := pageQuery(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	query := q()
	if *search != "" {
		query.Set("search", *search)
	}
	return c.call(ctx, "GET", "/meetings", query, nil)
}

func (c *cli) meetingsCreate(ctx context.Context, fs *flag.FlagSet, args []string) error {
	title := fs.String("title", "", "the title")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	return c.call(ctx, "POST", "/meetings", nil, map[string]any{"title": *title})
}

func (c *cli) meetingsGet(ctx context.Context, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	return c.call(ctx, "GET", "/meetings/"+url.PathEscape(pos[0]), nil, nil)
}

func (c *cli) meetingsEnd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	return c.call(ctx, "PATCH", "/meetings/"+url.PathEscape(pos[0]), nil, map[string]any{"status": "INACTIVE"})
}

func (c *cli) participantsList(ctx context.Context, fs *flag.FlagSet, args []string) error {
	q := pageQuery(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	return c.call(ctx, "GET", "/meetings/"+url.PathEscape(pos[0])+"/participants", q(), nil)
}

func (c *cli) participantsAdd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	preset := fs.String("preset", "", "the preset's name (required)")
	name := fs.String("name", "", "the display name")
	custom := fs.String("id", "", "the custom participant id")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *preset == "" {
		return fmt.Errorf("%w: -preset is required", errUsage)
	}
	body := map[string]any{"preset_name": *preset}
	if *name != "" {
		body["name"] = *name
	}
	if *custom != "" {
		body["custom_participant_id"] = *custom
	}
	return c.call(ctx, "POST", "/meetings/"+url.PathEscape(pos[0])+"/participants", nil, body)
}

func (c *cli) participantsRemove(ctx context.Context, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2)
	if err != nil {
		return err
	}
	return c.call(ctx, "DELETE", "/meetings/"+url.PathEscape(pos[0])+"/participants/"+url.PathEscape(pos[1]), nil, nil)
}

// ---- connected meetings ----

// rooms returns the path of a meeting's connected meetings.
func rooms(meeting string) string {
	return "/meetings/" + url.PathEscape(meeting) + "/connected-meetings"
}

// change sends a change of a family, based on the version it has now.
func (c *cli) change(ctx context.Context, meeting, path string, body map[string]any) error {
	data, err := c.request(ctx, "GET", rooms(meeting), nil, nil)
	if err != nil {
		return err
	}
	var st struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	body["version"] = st.Version
	return c.call(ctx, "POST", rooms(meeting)+path, nil, body)
}

func (c *cli) roomsState(ctx context.Context, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	return c.call(ctx, "GET", rooms(pos[0]), nil, nil)
}

func (c *cli) roomsCreate(ctx context.Context, fs *flag.FlagSet, args []string) error {
	count := fs.Int("count", 0, "how many rooms (untitled)")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	body := map[string]any{}
	switch titles := pos[1:]; {
	case *count > 0 && len(titles) == 0:
		body["count"] = *count
	case *count == 0 && len(titles) > 0:
		var ms []map[string]string
		for _, t := range titles {
			ms = append(ms, map[string]string{"title": t})
		}
		body["meetings"] = ms
	default:
		return fmt.Errorf("%w: give -count or titles, one of the two", errUsage)
	}
	return c.change(ctx, pos[0], "", body)
}

func (c *cli) roomsAssign(ctx context.Context, fs *flag.FlagSet, args []string) error {
	hosts := fs.Bool("hosts", false, "assign hosts too (auto)")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	body := map[string]any{"mode": "auto", "include_hosts": *hosts}
	if len(pos) > 1 {
		manual := map[string][]string{}
		for _, a := range pos[1:] {
			room, ids, ok := strings.Cut(a, "=")
			if !ok || room == "" {
				return fmt.Errorf("%w: %q is not ROOM=PARTICIPANT,...", errUsage, a)
			}
			manual[room] = strings.FieldsFunc(ids, func(r rune) bool { return r == ',' })
		}
		body["mode"], body["rooms"] = "manual", manual
	}
	return c.change(ctx, pos[0], "/assign", body)
}

func (c *cli) roomsStart(ctx context.Context, fs *flag.FlagSet, args []string) error {
	duration := fs.Duration("duration", 0, "close the rooms by themselves after this")
	warning := fs.Duration("warning", 0, "the close countdown before that (default 1m)")
	late := fs.Bool("late", false, "place participants who join later in the least full room")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	body := map[string]any{}
	if *duration > 0 {
		body["duration_seconds"] = int(duration.Seconds())
		if *warning > 0 {
			body["warning_seconds"] = int(warning.Seconds())
		}
	}
	if *late {
		body["assign_late_joiners"] = true
	}
	return c.change(ctx, pos[0], "/start", body)
}

func (c *cli) roomsClose(ctx context.Context, fs *flag.FlagSet, args []string) error {
	grace := fs.Duration("grace", 0, "the countdown before the rooms close")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	return c.change(ctx, pos[0], "/close", map[string]any{"grace_seconds": int(grace.Seconds())})
}

func (c *cli) roomsMove(ctx context.Context, fs *flag.FlagSet, args []string) error {
	from := fs.String("from", "", "the room they are in (\"parent\": the meeting)")
	to := fs.String("to", "", "the room they go to (\"parent\": the meeting)")
	pos, err := parse(fs, args, -2)
	if err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("%w: -from and -to are required", errUsage)
	}
	room := func(r string) string {
		if r == "parent" {
			return pos[0]
		}
		return r
	}
	return c.change(ctx, pos[0], "/move", map[string]any{
		"source_meeting_id": room(*from), "destination_meeting_id": room(*to), "participant_ids": pos[1:]})
}

// ---- webhooks ----

func (c *cli) webhooksList(ctx context.Context, fs *flag.FlagSet, args []string) error {
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	return c.call(ctx, "GET", "/webhooks", nil, nil)
}

func (c *cli) webhooksDeliveries(ctx context.Context, fs *flag.FlagSet, args []string) error {
	status := fs.String("status", "", "only deliveries in this status")
	q := pageQuery(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	query := q()
	if *status != "" {
		query.Set("status", *status)
	}
	return c.call(ctx, "GET", "/webhooks/"+url.PathEscape(pos[0])+"/deliveries", query, nil)
}

func (c *cli) webhooksDead(ctx context.Context, fs *flag.FlagSet, args []string) error {
	q := pageQuery(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	query := q()
	query.Set("status", "dead")
	return c.call(ctx, "GET", "/webhooks/"+url.PathEscape(pos[0])+"/deliveries", query, nil)
}

func (c *cli) webhooksRedeliver(ctx context.Context, fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args, 2)
	if err != nil {
		return err
	}
	return c.call(ctx, "POST", "/webhooks/"+url.PathEscape(pos[0])+"/deliveries/"+url.PathEscape(pos[1])+"/retry", nil, nil)
}

// ---- migrations ----

func (c *cli) migrationsStatus(ctx context.Context, fs *flag.FlagSet, args []string) error {
	dsn := fs.String("dsn", c.dsn, "the database, as the sidecar's store.dsn (SIDECAR_STORE_DSN)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *dsn == "" {
		return fmt.Errorf("%w: -dsn (or SIDECAR_STORE_DSN) is required", errUsage)
	}
	known, unknown, err := sqlstore.MigrationStatus(ctx, *dsn)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	pending := 0
	for _, m := range known {
		applied := "pending (the sidecar applies it at its next start)"
		if !m.AppliedAt.IsZero() {
			applied = m.AppliedAt.Format(time.RFC3339)
		} else {
			pending++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	for _, v := range unknown {
		fmt.Fprintf(tw, "%d\t(unknown to this build)\tapplied by a newer sidecar\n", v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(unknown) > 0:
		return fmt.Errorf("the database has %d migrations this build does not know: a newer sidecar migrated it", len(unknown))
	case pending > 0:
		fmt.Fprintf(c.out, "%d of %d migrations pending\n", pending, len(known))
	default:
		fmt.Fprintf(c.out, "up to date: %d migrations applied\n", len(known))
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
