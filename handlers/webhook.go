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
// processing) before the delivery is acknowledged.
type WebhookSink interface {
	Record(ctx context.Context, body []byte, ev webhook.Event) error
	// Reject counts a refused delivery by kind ("rejected_signature",
	// "malformed"); its payload is never stored.
	Reject(ctx context.Context, kind string)
}

// maxWebhookBody bounds what a delivery may send; Logto's user payloads
// are a few KB.
const maxWebhookBody = 1 << 20

type webhookHandler struct {
	keys   func() []string
	sink   WebhookSink
	logger *slog.Logger
}

// receive verifies Logto's signature over the exact bytes, parses, records
// and only then answers 204. Nothing here calls Permit: a slow or failing
// Permit must never cost a delivery, since released Logto sends each
// webhook once (logto.md §1.3).
func (h *webhookHandler) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.sink.Reject(r.Context(), "malformed") // an oversized body is no Logto payload either
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
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
		h.sink.Reject(r.Context(), "rejected_signature")
		h.logger.WarnContext(r.Context(), "webhook refused", "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	ev, err := webhook.Parse(body)
	if err != nil {
		h.sink.Reject(r.Context(), "malformed")
		h.logger.WarnContext(r.Context(), "webhook malformed", "err", err)
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	if err := h.sink.Record(r.Context(), body, ev); err != nil {
		// Not acknowledged: a Logto that retries (post-#9410) will send it
		// again, and the delivery log shows the failure.
		h.logger.ErrorContext(r.Context(), "webhook not recorded", "event", ev.Name, "user", ev.UserID, "err", err)
		http.Error(w, "could not record the event", http.StatusServiceUnavailable)
		return
	}
	h.logger.InfoContext(r.Context(), "webhook recorded", "event", ev.Name, "user", ev.UserID, "test", ev.Test)
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhookHandler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}
