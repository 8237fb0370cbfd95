package devstack

// DemoPassword is the password of every seeded demo account.
const DemoPassword = "demo-password"

// Account is a demo account: seeded in the Logto stand-in by Start, and
// given Role in Permit ("" none) by whoever grants the demo roles.
type Account struct {
	Email, Name, Role string
}

// DemoAccounts returns the demo accounts, a new slice each call.
func DemoAccounts() []Account {
	return []Account{
		{"admin@example.com", "Ada Admin", "admin"},
		{"analyst@example.com", "Ana Analyst", "analyst"},
		{"viewer@example.com", "Vic Viewer", "viewer"},
		{"norole@example.com", "Nora Norole", ""},
	}
}
