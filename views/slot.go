package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

// BodySlot stands in for a page's content in LayoutAround. It starts with
// "<", which templ escapes in every value it renders, so no title, name or
// notice can produce it.
const BodySlot = "<reportgate-body-slot/>"

// LayoutAround renders the layout of p with BodySlot where the content
// goes, so a content rendered once can be spliced into each person's page.
func LayoutAround(p Page) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return Layout(p).Render(templ.WithChildren(ctx, templ.Raw(BodySlot)), w)
	})
}
