package logto

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// control calls a stand-in control as the M2M app (or as user/pass).
func (e *env) control(method, path, user, pass string, body any) (int, webhookStatus) {
	e.t.Helper()
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(method, e.url+ControlPrefix+path, bytes.NewReader(data))
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	status, out := e.send(req)
	var st webhookStatus
	if status == http.StatusOK {
		if err := json.Unmarshal(out, &st); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
	return status, st
}

func (e *env) m2mControl(method, path string, body any) webhookStatus {
	e.t.Helper()
	status, st := e.control(method, path, m2mAppID, m2mAppSecret, body)
	if status != http.StatusOK {
		e.t.Fatalf("%s %s: %d", method, path, status)
	}
	return st
}

func TestWebhookControlsNeedM2MCredentials(t *testing.T) {
	t.Parallel()
	e, _ := hookEnv(t, nil)
	for _, c := range []struct{ user, pass string }{{"", ""}, {m2mAppID, "wrong"}, {webAppID, webAppSecret}} {
		for _, r := range []struct{ method, path string }{{"GET", "webhooks"}, {"PUT", "webhooks"}, {"POST", "webhooks/release"}} {
			if status, _ := e.control(r.method, r.path, c.user, c.pass, map[string]string{"mode": "drop"}); status != http.StatusUnauthorized {
				t.Errorf("%s %s as %q: %d, want 401", r.method, r.path, c.user, status)
			}
		}
	}
	if mode, _ := e.srv.Webhooks().Mode(); mode != WebhooksDeliver {
		t.Errorf("an unauthorised PUT set the mode to %s", mode)
	}
	if status, _ := e.control("PUT", "webhooks", m2mAppID, m2mAppSecret, map[string]string{"mode": "lose"}); status != http.StatusBadRequest {
		t.Errorf("unknown mode: %d, want 400", status)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWebhookModeControls(t *testing.T) {
	t.Parallel()
	e, sk := hookEnv(t, nil)
	w := e.srv.Webhooks()

	// drop: every delivery vanishes until the mode changes.
	e.m2mControl("PUT", "webhooks", map[string]string{"mode": "drop"})
	e.code(authParams{})
	e.code(authParams{})
	w.Wait()
	if st := e.m2mControl("GET", "webhooks", nil); st.Mode != WebhooksDrop || st.Deliveries != 2 || st.Failed != 2 || len(sk.all()) != 0 {
		t.Fatalf("drop mode: status %+v, %d arrived", st, len(sk.all()))
	}

	// hold: deliveries wait until released.
	e.m2mControl("PUT", "webhooks", map[string]string{"mode": "hold"})
	e.code(authParams{})
	waitFor(t, "the delivery is held", func() bool { return w.InFlight() == 1 })
	if n := len(sk.all()); n != 0 {
		t.Fatalf("%d deliveries arrived while held", n)
	}
	e.m2mControl("POST", "webhooks/release", nil)
	if ev := <-sk.arrived; ev != "PostSignIn" {
		t.Fatalf("released %s", ev)
	}
	// Still in hold mode: the next one is held again.
	e.code(authParams{})
	waitFor(t, "the next delivery is held", func() bool { return w.InFlight() == 1 })
	// Back to deliver, with a delay: the held one goes, and so do later ones.
	if st := e.m2mControl("PUT", "webhooks", map[string]string{"mode": "deliver", "delay": "1ms"}); st.Mode != WebhooksDeliver || st.Delay != "1ms" {
		t.Errorf("status after deliver = %+v", st)
	}
	<-sk.arrived
	e.code(authParams{})
	<-sk.arrived
	w.Wait()
	if n := len(sk.all()); n != 3 {
		t.Errorf("%d arrived, want 3", n)
	}

	// With an event: only that event's next delivery.
	e.m2mControl("PUT", "webhooks", map[string]string{"mode": "drop", "event": "PostSignIn"})
	e.code(authParams{})
	e.code(authParams{})
	w.Wait()
	if n := len(sk.all()); n != 4 {
		t.Errorf("%d arrived after dropping one of two, want 4", n)
	}
}
