package webhook_test

import (
	"testing"

	"reportgate/internal/webhook"
)

// BenchmarkVerifyAndParse is the receiver's per-delivery cost for a
// typical 1.5 KB PostRegister of a social sign-up.
func BenchmarkVerifyAndParse(b *testing.B) {
	const key = "k3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3"
	body := []byte(typicalPostRegister())
	sig := webhook.Sign(body, key)
	b.Run("Verify+Parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := webhook.Verify(body, sig, key); err != nil {
				b.Fatal(err)
			}
			if _, err := webhook.Parse(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := webhook.Verify(body, sig, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := webhook.Parse(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Sanitize", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := webhook.Sanitize(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
