package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"reportgate/internal/webhook"
)

// WebhookSink records verified Logto events durably (and enqueues their
// processing) before the delivery is acknowledged, and says what it made
// of the delivery ("accepted", "duplicate", "stale", …), for metrics.
type WebhookSink interface {
	Record(ctx context.Context, body []byte, ev webhook.Event) (outcome string, err error)
}

// Outcomes of deliveries refused before they reach the sink. They are
// counted in memory only: anyone can send them, so they must cost no
// database write.
const (
	rejectedSignature = "rejected_signature"
	rejectedMalformed = "malformed"
	rejectedLimited   = "rate_limited"
)

// rejectedOutcomes are the delivery outcomes the receiver refuses itself.
var rejectedOutcomes = []string{rejectedSignature, rejectedMalformed, rejectedLimited}

// maxWebhookBody bounds what a delivery may send; Logto's user payloads
// are a few KB.
const maxWebhookBody = 1 << 20

type webhookHandler struct {
	keys   func() []string
	sink   WebhookSink
	logger *slog.Logger
	pages  *pageRenderer
	// limit applies to rejected deliveries only: a validly signed one is
	// never refused, whoever sends it.
	limit RateLimiter
	count func(outcome string)
}

// receive verifies Logto's signature over the exact bytes, parses, records
// and only then answers 204. Nothing here calls Permit: a slow or failing
// Permit must never cost a delivery, since released Logto sends each
// webhook once, without retrying.
func (h *webhookHandler) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			// An oversized body is no Logto payload either.
			h.reject(w, r, rejectedMalformed, "payload too large", http.StatusRequestEntityTooLarge, err)
			return
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return
	}
	switch err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), h.keys()...); {
	case errors.Is(err, webhook.ErrNoKey):
		h.logger.ErrorContext(r.Context(), "webhook received but no signing key is configured")
		http.Error(w, "webhook receiver not configured", http.StatusInternalServerError)
		return
	case err != nil:
		h.reject(w, r, rejectedSignature, "invalid signature", http.StatusUnauthorized, err)
		return
	}
	ev, err := webhook.Parse(body)
	if err != nil {
		h.reject(w, r, rejectedMalformed, "malformed payload", http.StatusBadRequest, err)
		return
	}
	outcome, err := h.sink.Record(r.Context(), body, ev)
	if err != nil {
		// Not acknowledged: a Logto that retries (post-#9410) will send it
		// again, and the delivery log shows the failure.
		h.logger.ErrorContext(r.Context(), "webhook not recorded", "event", ev.Name, "user", ev.UserID, "err", err)
		http.Error(w, "could not record the event", http.StatusServiceUnavailable)
		return
	}
	h.count(outcome)
	// Debug: the access log already has a line per delivery, and every
	// recorded event is in the database and on /admin/sync.
	h.logger.DebugContext(r.Context(), "webhook recorded", "event", ev.Name, "user", ev.UserID, "test", ev.Test, "outcome", outcome)
	w.WriteHeader(http.StatusNoContent)
}

// reject refuses a delivery, counts it and logs why, or, once its client
// has sent too many rejected ones, answers 429 without logging each.
func (h *webhookHandler) reject(w http.ResponseWriter, r *http.Request, kind, msg string, status int, cause error) {
	if h.limit != nil {
		if ok, wait := h.limit.Allow(r); !ok {
			h.count(rejectedLimited)
			h.pages.fail(w, r, nil, &limitedError{retryAfter: wait})
			return
		}
	}
	h.count(kind)
	h.logger.WarnContext(r.Context(), "webhook refused", "kind", kind, "err", cause)
	http.Error(w, msg, status)
}

func (h *webhookHandler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}
