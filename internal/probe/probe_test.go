package probe

import "testing"

func TestDefaultURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8080/readyz",
		":9090":          "http://127.0.0.1:9090/readyz",
		"0.0.0.0:8081":   "http://127.0.0.1:8081/readyz",
		"[::]:8082":      "http://127.0.0.1:8082/readyz",
		"10.0.0.5:18080": "http://127.0.0.1:18080/readyz",
	} {
		if got, err := DefaultURL(addr); err != nil || got != want {
			t.Errorf("DefaultURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := DefaultURL("8080"); err == nil {
		t.Error("an address without a port was accepted")
	}
}
