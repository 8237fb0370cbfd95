package standins

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"reportgate/internal/config"
	"reportgate/internal/devstack"
	"reportgate/internal/devstack/logto"
	"reportgate/internal/devstack/permit"
	"reportgate/internal/people"
	"reportgate/internal/permitdir"
	"reportgate/internal/policy"
	"reportgate/internal/testkit/standin"
)

func TestDemoLogtoImportsAndLooksUp(t *testing.T) {
	lt, err := logto.New(logto.Config{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lt.Close() })
	d := demoLogto{lt}
	if _, ok := d.Lookup("ana@demo.test"); ok {
		t.Fatal("found a person never imported")
	}
	at := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	in := []people.Person{{Email: "ana@demo.test", Name: "Ana", RegisteredAt: at}}
	out, created, err := d.Import(in)
	if err != nil || created != 1 || len(out) != 1 {
		t.Fatalf("Import: %v created %d, %v", out, created, err)
	}
	if out[0].ID == "" || out[0].Email != "ana@demo.test" || out[0].Name != "Ana" || !out[0].RegisteredAt.Equal(at) {
		t.Errorf("imported %+v", out[0])
	}
	if _, created, _ := d.Import(in); created != 0 {
		t.Errorf("a second import created %d", created)
	}
	p, ok := d.Lookup("ana@demo.test")
	if !ok || p.ID != out[0].ID || !p.RegisteredAt.Equal(at) {
		t.Errorf("Lookup = %+v, %v", p, ok)
	}
}

func TestDemoPermitImportsWithTheBestRole(t *testing.T) {
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	srv := standin.StartPermit(t, permit.Config{APIKey: testKey, Schema: Schema(pol)})
	d := demoPermit{srv.Server, "default"}
	if err := d.Import([]people.Person{{ID: "u1", Email: "ana@demo.test", Name: "Ana", Roles: []string{"viewer", "analyst"}}}); err != nil {
		t.Fatal(err)
	}
	dir, err := permitdir.FromSettings(config.Permit{APIKey: testKey, APIURL: srv.URL, Tenant: "default", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := dir.AssignedRoles(context.Background(), "u1")
	if err != nil {
		t.Fatal(err)
	}
	if want := people.Bucket([]string{"viewer", "analyst"}); !slices.Equal(roles, []string{want}) {
		t.Errorf("roles %v, want [%s]", roles, want)
	}
}

func TestAccountsAreTheDemoAccounts(t *testing.T) {
	got, want := Accounts(), devstack.DemoAccounts()
	if len(got) != len(want) {
		t.Fatalf("%d accounts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Email != want[i].Email || got[i].Name != want[i].Name || got[i].Role != want[i].Role {
			t.Errorf("account %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestBannerAndServeSettings(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080")
	s := config.Settings{BaseURL: base, DatabaseURL: "sqlite:data/app.db", SessionSecret: []byte("secret"),
		Logto: config.Logto{Endpoint: "http://127.0.0.1:3001", AppID: "app"}, Permit: config.Permit{APIKey: "key"}}
	l := &devstack.Listeners{LogtoURL: "http://127.0.0.1:3001", PermitURL: "http://127.0.0.1:7766"}
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer metricsLn.Close()
	var out strings.Builder
	PrintBanner(&out, s, l, metricsLn, true)
	for _, want := range []string{"  App:    http://127.0.0.1:8080\n", "  Logto:  http://127.0.0.1:3001 (stand-in)\n",
		"  Permit: http://127.0.0.1:7766 ", "  Metrics: http://" + metricsLn.Addr().String() + "/metrics", "  Data:   data/app.db\n",
		"admin@example.com", "no role", "Report history:", "Press Ctrl+C to stop."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	PrintBanner(&out, s, l, nil, false)
	if strings.Contains(out.String(), "Metrics:") || strings.Contains(out.String(), "Report history:") {
		t.Errorf("banner without metrics or history:\n%s", out.String())
	}
	out.Reset()
	PrintServeSettings(&out, s, l)
	for _, want := range []string{"\nREPORTGATE_BASE_URL=http://127.0.0.1:8080\n", "\nREPORTGATE_SESSION_SECRET=secret\n",
		"\nLOGTO_APP_ID=app\n", "\nPERMIT_API_KEY=key\n", "# Demo accounts: admin@example.com, "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("settings lack %q:\n%s", want, out.String())
		}
	}
}
