package testkit

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// FormRequest builds the request a browser sends when a person types
// fields into the form on doc (a page loaded from base) that has every one
// of them and submits it: the form's other inputs, hidden ones included,
// keep their values, and a POST carries Origin because the app's
// cross-origin check relies on it.
func FormRequest(doc *goquery.Document, base *url.URL, fields map[string]string) (*http.Request, error) {
	var form *goquery.Selection
	doc.Find("form").EachWithBreak(func(_ int, f *goquery.Selection) bool {
		for name := range fields {
			if f.Find(`[name="`+name+`"]`).Length() == 0 {
				return true
			}
		}
		form = f
		return false
	})
	if form == nil {
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("no form with fields %v on %s", names, base)
	}
	values := url.Values{}
	form.Find("input").Each(func(_ int, in *goquery.Selection) {
		if name := in.AttrOr("name", ""); name != "" {
			values.Set(name, in.AttrOr("value", ""))
		}
	})
	for k, v := range fields {
		values.Set(k, v)
	}
	target, err := base.Parse(form.AttrOr("action", ""))
	if err != nil {
		return nil, fmt.Errorf("form action: %w", err)
	}
	if !strings.EqualFold(form.AttrOr("method", "get"), http.MethodPost) {
		target.RawQuery = values.Encode()
		return http.NewRequest(http.MethodGet, target.String(), nil)
	}
	req, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", target.Scheme+"://"+target.Host)
	return req, nil
}
