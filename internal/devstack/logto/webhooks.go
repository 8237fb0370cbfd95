package logto

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// DefaultWebhookEvents returns the events subscribed to when
// Config.WebhookEvents is nil: the user lifecycle events reportgate syncs.
func DefaultWebhookEvents() []string {
	return []string{"PostRegister", "PostSignIn", "User.Created", "User.Data.Updated", "User.Deleted", "User.SuspensionStatus.Updated"}
}

// webhookTimeout is ky's timeout in sendWebhookRequest.
const webhookTimeout = 10 * time.Second

// Delivery is one webhook delivery, for tests to inspect.
type Delivery struct {
	Event    string
	Body     []byte
	Status   int    // final HTTP status; 0 when no response arrived
	Err      string // "" on success
	Attempts int    // 0 when dropped by DropNext
}

// Webhooks sends the tenant's one webhook and lets tests steer deliveries.
type Webhooks struct {
	url, key string
	retries  bool
	events   []string
	hookID   string
	lookup   func(id string) (User, bool)
	now      func() time.Time
	log      *slog.Logger
	client   *http.Client
	// retryDelay is ky's backoff, 0.3 s·2^(n−1); tests in
	// this package shorten it.
	retryDelay func(retry int) time.Duration

	mu       sync.Mutex
	idle     *sync.Cond // signalled when pending drops to 0
	pending  int
	closed   bool
	drop     map[string]int
	delay    map[string]time.Duration
	holds    map[string]chan struct{} // next delivery of the event waits on it
	release  map[string]chan struct{} // closed by Release
	done     []Delivery               // the latest keptDeliveries at most
	finished int
	failed   int
	// The standing mode applies to every delivery that per-event controls
	// do not steer; allHold is open while the mode is hold.
	mode     WebhookMode
	allDelay time.Duration
	allHold  chan struct{}
}

// WebhookMode is what happens to every delivery until it is changed.
type WebhookMode string

const (
	WebhooksDeliver WebhookMode = "deliver"
	WebhooksDrop    WebhookMode = "drop"
	WebhooksHold    WebhookMode = "hold"
)

// SetMode makes every later delivery of any event be dropped, held until
// ReleaseAll (or a mode other than hold), or delivered; each after delay.
// Per-event controls (DropNext, Hold, Delay) still come first.
func (w *Webhooks) SetMode(mode WebhookMode, delay time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mode, w.allDelay = mode, delay
	switch {
	case mode == WebhooksHold && w.allHold == nil:
		w.allHold = make(chan struct{})
	case mode != WebhooksHold && w.allHold != nil:
		close(w.allHold)
		w.allHold = nil
	}
}

// Mode returns the standing mode and delay.
func (w *Webhooks) Mode() (WebhookMode, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mode, w.allDelay
}

// ReleaseAll lets every held delivery go; in hold mode, later ones are
// held again.
func (w *Webhooks) ReleaseAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.releaseAllLocked()
	if w.mode == WebhooksHold {
		w.allHold = make(chan struct{})
	}
}

func (w *Webhooks) releaseAllLocked() {
	for event := range w.release {
		w.releaseLocked(event)
	}
	if w.allHold != nil {
		close(w.allHold)
		w.allHold = nil
	}
}

// InFlight is how many deliveries have started and not finished, held
// ones included.
func (w *Webhooks) InFlight() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

func newWebhooks(cfg Config, hookID string, lookup func(string) (User, bool)) *Webhooks {
	events := cfg.WebhookEvents
	if events == nil {
		events = DefaultWebhookEvents()
	}
	w := &Webhooks{
		url: cfg.WebhookURL, key: cfg.WebhookSigningKey, retries: cfg.WebhookRetries,
		events: slices.Clone(events), hookID: hookID, lookup: lookup, now: cfg.Now, log: cfg.Logger,
		// ky runs on fetch, which follows redirects (a 301/302 turns the POST
		// into a GET, as Go's client does too).
		client: &http.Client{Timeout: webhookTimeout},
		retryDelay: func(retry int) time.Duration {
			return 300 * time.Millisecond << (retry - 1)
		},
		drop: map[string]int{}, delay: map[string]time.Duration{},
		holds: map[string]chan struct{}{}, release: map[string]chan struct{}{},
		mode: WebhooksDeliver,
	}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// HookID is the hook's id, sent as the last key of every payload.
func (w *Webhooks) HookID() string { return w.hookID }

// DropNext makes the next delivery of event vanish, like an event lost
// when Logto restarts mid-flight (it keeps no queue).
func (w *Webhooks) DropNext(event string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop[event]++
}

// Delay postpones the next delivery of event by d.
func (w *Webhooks) Delay(event string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.delay[event] = d
}

// Hold keeps the next delivery of event waiting until Release(event), so
// tests can make events arrive out of order (Logto guarantees no order).
// Wait blocks while a held delivery waits.
func (w *Webhooks) Hold(event string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.release[event]; ok {
		return
	}
	ch := make(chan struct{})
	w.holds[event], w.release[event] = ch, ch
}

// Release lets the held delivery of event go (or the next one, if it has
// not started yet).
func (w *Webhooks) Release(event string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.releaseLocked(event)
}

func (w *Webhooks) releaseLocked(event string) {
	if ch, ok := w.release[event]; ok {
		close(ch)
		delete(w.release, event)
		delete(w.holds, event)
	}
}

// Wait blocks until every delivery started so far has finished.
func (w *Webhooks) Wait() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.pending > 0 {
		w.idle.Wait()
	}
}

// Deliveries returns the log of deliveries, in completion order: the
// latest keptDeliveries of them.
func (w *Webhooks) Deliveries() []Delivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.done)
}

// close releases held deliveries and waits for all in flight.
func (w *Webhooks) close() {
	w.mu.Lock()
	w.closed = true
	w.mode = WebhooksDeliver
	w.releaseAllLocked()
	w.mu.Unlock()
	w.Wait()
}

func (w *Webhooks) subscribed(event string) bool {
	return w.url != "" && slices.Contains(w.events, event)
}

// dispatch sends payload in the background, fire-and-forget like Logto,
// whose API response never waits for the delivery. It is called before the
// triggering response is written so that Wait, called after the response,
// sees the delivery.
func (w *Webhooks) dispatch(event string, payload object) {
	if !w.subscribed(event) {
		return
	}
	body, err := w.encode(payload)
	if err != nil {
		w.log.Error("encode webhook", "event", event, "err", err)
		return
	}
	if !w.begin() {
		return
	}
	go func() {
		defer w.end()
		w.deliver(context.Background(), event, body)
	}()
}

// encode serialises a payload with hookId last, as sendWebhook does
// ({...payload, hookId}).
func (w *Webhooks) encode(payload object) ([]byte, error) {
	return marshalJS(payload.set("hookId", w.hookID))
}

// keptDeliveries bounds the delivery log, so a long-running dev process
// does not keep every payload it ever sent.
const keptDeliveries = 1000

// record logs a finished delivery.
func (w *Webhooks) record(d Delivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished++
	if d.Err != "" {
		w.failed++
	}
	if len(w.done) == keptDeliveries {
		w.done = slices.Delete(w.done, 0, keptDeliveries/2)
	}
	w.done = append(w.done, d)
}

// Counts is how many deliveries have finished, and how many of them
// failed (dropped ones included), since the start.
func (w *Webhooks) Counts() (finished, failed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finished, w.failed
}

func (w *Webhooks) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.pending++
	return true
}

func (w *Webhooks) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending--
	if w.pending == 0 {
		w.idle.Broadcast()
	}
}

// deliver applies the test controls, sends and records one delivery.
func (w *Webhooks) deliver(ctx context.Context, event string, body []byte) Delivery {
	w.mu.Lock()
	dropped := w.drop[event] > 0
	if dropped {
		w.drop[event]--
	}
	delay, ok := w.delay[event]
	if !ok {
		delay = w.allDelay
	}
	delete(w.delay, event)
	hold := w.holds[event]
	delete(w.holds, event)
	if hold == nil {
		hold = w.allHold // nil unless the mode is hold
	}
	droppedByMode := !dropped && w.mode == WebhooksDrop
	w.mu.Unlock()

	d := Delivery{Event: event, Body: body}
	switch {
	case dropped:
		d.Err = "dropped by DropNext"
	case droppedByMode:
		d.Err = "dropped: the webhook mode is drop"
	default:
		if hold != nil {
			<-hold
		}
		if delay > 0 {
			sleep(ctx, delay)
		}
		d.Status, d.Attempts, d.Err = w.send(ctx, body)
	}
	w.record(d)
	if d.Err != "" {
		w.log.Warn("webhook delivery failed", "event", event, "status", d.Status, "attempts", d.Attempts, "err", d.Err)
	}
	return d
}

// send POSTs body, retrying only in WebhookRetries mode and only on 5xx,
// with the identical bytes each time.
func (w *Webhooks) send(ctx context.Context, body []byte) (status, attempts int, errText string) {
	for attempts = 1; ; attempts++ {
		var err error
		status, err = w.attempt(ctx, body)
		switch {
		case err != nil:
			return status, attempts, err.Error() // network errors and timeouts are never retried
		case status >= 200 && status < 300:
			return status, attempts, ""
		case !w.retries || status < 500 || status > 599 || attempts > 3:
			return status, attempts, fmt.Sprintf("Request failed with status code %d %s", status, http.StatusText(status))
		}
		if !sleep(ctx, w.retryDelay(attempts)) {
			return status, attempts, ctx.Err().Error()
		}
	}
}

// attempt is one request with Logto's headers; the signature is over the
// exact body bytes and added only when a key is set.
func (w *Webhooks) attempt(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("user-agent", "Logto (https://logto.io/)")
	req.Header.Set("content-type", "application/json")
	if w.key != "" {
		req.Header.Set("logto-signature-sha-256", Sign(w.key, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// Sign is Logto's webhook signature: lowercase hex HMAC-SHA256 of the raw
// body, keyed with the signing key's UTF-8 bytes.
func Sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SendTestPayload does what the console's "Send test payload" button
// does: one signed request with the fake payload, whether or
// not the event is subscribed. It returns an error when the endpoint
// answers non-2xx or cannot be reached, like Logto's 422.
func (w *Webhooks) SendTestPayload(ctx context.Context, event string) error {
	if w.url == "" {
		return errors.New("no webhook URL configured")
	}
	body, err := marshalJS(testPayload(w.hookID, event, w.now()))
	if err != nil {
		return fmt.Errorf("encode test payload: %w", err)
	}
	status, attempts, errText := w.send(ctx, body)
	w.record(Delivery{Event: event, Body: body, Status: status, Err: errText, Attempts: attempts})
	switch {
	case errText == "":
		return nil
	case status != 0:
		return fmt.Errorf("hook.endpoint_responded_with_error: status %d", status)
	default:
		return fmt.Errorf("hook.send_test_payload_failed: %s", errText)
	}
}

// Send delivers an arbitrary payload (a JSON object) as event, with
// hookId appended, through the same controls as real deliveries, and
// waits for it. It lets tests send shapes the stand-in never produces.
func (w *Webhooks) Send(ctx context.Context, event string, payload json.RawMessage) error {
	o, err := decodeObject(payload)
	if err != nil {
		return fmt.Errorf("webhook payload: %w", err)
	}
	body, err := w.encode(o)
	if err != nil {
		return fmt.Errorf("encode webhook payload: %w", err)
	}
	if !w.begin() {
		return errors.New("webhooks closed")
	}
	defer w.end()
	if d := w.deliver(ctx, event, body); d.Err != "" {
		return fmt.Errorf("deliver %s: %s", event, d.Err)
	}
	return nil
}

// FireCustomDataUpdated sends the User.Data.Updated that
// PATCH /api/users/:userId/custom-data sends: data is ONLY the custom
// data object, not a user.
func (w *Webhooks) FireCustomDataUpdated(userID string) error {
	return w.firePartial(userID, "customData")
}

// FireProfileUpdated sends the User.Data.Updated of
// PATCH /api/users/:userId/profile: data is ONLY the profile object.
func (w *Webhooks) FireProfileUpdated(userID string) error {
	return w.firePartial(userID, "profile")
}

// firePartial fires what mergeUserPart fires for the user part key, as if
// called by a local Go client.
func (w *Webhooks) firePartial(userID, key string) error {
	u, ok := w.lookup(userID)
	if !ok {
		return fmt.Errorf("user %s not found", userID)
	}
	mc := userRouteContext(http.MethodPatch, http.StatusOK, userID, userPartRoute(key))
	mc.userAgent, mc.ip = "Go-http-client/1.1", "::ffff:127.0.0.1"
	w.dispatch("User.Data.Updated", managementDataPayload(w.now(), "User.Data.Updated", mc, u.partJSON(key)))
	return nil
}
