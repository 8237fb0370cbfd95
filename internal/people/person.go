package people

import (
	"reportgate/internal/auth"
	"reportgate/internal/webhook"
)

// The conversions below are the only places a person is built from what
// Logto sends or says; everything else takes a Person.

// FromWebhook is the person a Logto webhook payload or Management API
// record describes (no role snapshot: Logto knows nothing of Permit).
func FromWebhook(u webhook.User) Person {
	return Person{ID: u.ID, Email: u.Email, Name: u.Name, RegisteredAt: u.CreatedAt}
}

// FromIdentity is the person an ID token describes at sign-in.
func FromIdentity(who auth.Identity) Person {
	return Person{ID: who.Subject, Email: who.Email, Name: who.Name, RegisteredAt: who.RegisteredAt}
}

// logto is p as the provisioning sync takes it: what Logto said about them.
func (p Person) logto() webhook.User {
	return webhook.User{ID: p.ID, Email: p.Email, Name: p.Name, CreatedAt: p.RegisteredAt}
}

// Label is how notices and audit entries name a person: their email, else
// their name, else their id.
func (p Person) Label() string {
	switch {
	case p.Email != "":
		return p.Email
	case p.Name != "":
		return p.Name
	}
	return p.ID
}
