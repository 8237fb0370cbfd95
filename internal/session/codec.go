package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Session data starts with a version byte; decode dispatches on it and
// reads every version a live row may still hold.
//
// v1 is a binary format for strings, bools, ints, int64s, nil and flat
// lists of those:
//
//	uvarint count, then per entry sorted by key:
//	uvarint len + key bytes, tag byte, payload
//
// v2 is a JSON object whose values are strings or arrays of strings. That
// is everything the app stores: the Logto SDK's items, the user id, and
// notices (gorilla's flashes, a []interface{} of strings). JSON rewrites
// invalid UTF-8, so encodeV2 refuses it rather than change a value; tokens,
// ids and notice texts are valid UTF-8.
//
// Both sort keys (json.Marshal sorts map keys), so equal data encodes to
// equal bytes, which Save relies on to skip writes when nothing changed.
//
// writeVersion is what encode writes. It stays 1 in this release: the
// release before it reads only v1 and deletes rows it cannot decode, and it
// runs beside this one during a rolling deploy. The next release sets it to
// 2 (and emptyData to "\x02{}") once every replica reads v2.
const writeVersion = 1

// Value tags of v1. A list holds only scalars; it exists for gorilla's
// flashes (Session.AddFlash stores a []interface{} under its key).
const (
	tagNil    = 'n'
	tagString = 's'
	tagTrue   = 't'
	tagFalse  = 'f'
	tagInt    = 'i'
	tagInt64  = 'l'
	tagList   = 'L'
)

// encode serialises the storable entries of values in writeVersion.
func encode(values map[any]any) ([]byte, error) {
	switch writeVersion {
	case 2:
		return encodeV2(values)
	default:
		return encodeV1(values)
	}
}

// storedKeys returns the string keys of values, sorted, skipping the
// store's own bookkeeping. Any other key type is a programming error.
func storedKeys(values map[any]any) ([]string, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		switch k := k.(type) {
		case metaKey:
		case string:
			keys = append(keys, k)
		default:
			return nil, fmt.Errorf("session: key of type %T: only string keys are stored", k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// encodeV1 writes v1: string keys with string, bool, int, int64 or nil
// values, or a flat []interface{} of those. Anything else is a programming
// error, reported with the key's name (never its value, which may be a
// token).
func encodeV1(values map[any]any) ([]byte, error) {
	keys, err := storedKeys(values)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 64)
	buf = append(buf, 1)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = appendBytes(buf, k)
		if buf, err = appendValue(buf, values[k], true); err != nil {
			return nil, fmt.Errorf("session: value of %q: %w", k, err)
		}
	}
	return buf, nil
}

func appendBytes(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendValue(buf []byte, v any, listAllowed bool) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, tagNil), nil
	case string:
		return appendBytes(append(buf, tagString), v), nil
	case bool:
		if v {
			return append(buf, tagTrue), nil
		}
		return append(buf, tagFalse), nil
	case int:
		return binary.AppendVarint(append(buf, tagInt), int64(v)), nil
	case int64:
		return binary.AppendVarint(append(buf, tagInt64), v), nil
	case []any:
		if !listAllowed {
			return nil, errors.New("nested lists are not stored")
		}
		buf = binary.AppendUvarint(append(buf, tagList), uint64(len(v)))
		for _, item := range v {
			var err error
			if buf, err = appendValue(buf, item, false); err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("type %T is not stored (want string, bool, int, int64, nil or []interface{} of those)", v)
}

var (
	errCorrupt = errors.New("session: corrupt data")
	// errUnknownVersion is data from a newer release (or not a session).
	errUnknownVersion = errors.New("session: unknown data version")
	errNotUTF8        = errors.New("not valid UTF-8 (JSON would alter it)")
)

// decoder reads v1; the first problem sticks in err so the
// loops stay readable, and every length is checked against what is left.
type decoder struct {
	b   []byte
	err error
}

// decode reads data of any version this release knows.
func decode(data []byte) (map[any]any, error) {
	if len(data) == 0 {
		return nil, errCorrupt
	}
	switch data[0] {
	case 1:
		return decodeV1(data[1:])
	case 2:
		return decodeV2(data[1:])
	}
	return nil, errUnknownVersion
}

func decodeV1(data []byte) (map[any]any, error) {
	d := decoder{b: data}
	n := d.count()
	values := make(map[any]any, n)
	for range n {
		k := d.string()
		v := d.value(true)
		if d.err != nil {
			return nil, d.err
		}
		values[k] = v
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return values, nil
}

func (d *decoder) fail() { d.err = errCorrupt; d.b = nil }

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an element or byte count; each element takes at least one
// byte, so a count beyond what is left is corrupt (and must not size an
// allocation).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count() // on failure 0, with d.b empty
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) value(listAllowed bool) any {
	if len(d.b) == 0 {
		d.fail()
		return nil
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNil:
		return nil
	case tagString:
		return d.string()
	case tagTrue:
		return true
	case tagFalse:
		return false
	case tagInt:
		return int(d.varint())
	case tagInt64:
		return d.varint()
	case tagList:
		if listAllowed {
			list := make([]any, d.count())
			for i := range list {
				list[i] = d.value(false)
			}
			return list
		}
	}
	d.fail()
	return nil
}

// encodeV2 writes v2: string keys with string values or []interface{} of
// strings, all valid UTF-8. Errors name the key, never the value.
func encodeV2(values map[any]any) ([]byte, error) {
	keys, err := storedKeys(values)
	if err != nil {
		return nil, err
	}
	obj := make(map[string]any, len(keys))
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("session: key %q is not valid UTF-8", k)
		}
		if obj[k], err = plainValue(values[k]); err != nil {
			return nil, fmt.Errorf("session: value of %q: %w", k, err)
		}
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("session: encode: %w", err)
	}
	return append([]byte{2}, data...), nil
}

func plainValue(v any) (any, error) {
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return nil, errNotUTF8
		}
		return v, nil
	case []any:
		// A []string, never nil: a nil slice would marshal as null.
		list := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("list item of type %T is not stored (want string)", item)
			}
			if !utf8.ValidString(s) {
				return nil, errNotUTF8
			}
			list[i] = s
		}
		return list, nil
	}
	return nil, fmt.Errorf("type %T is not stored (want string or []interface{} of strings)", v)
}

// decodeV2 reads v2 strictly: invalid UTF-8 (which json would replace),
// and any value but a string or an array of strings, is corrupt.
func decodeV2(data []byte) (map[any]any, error) {
	if !utf8.Valid(data) {
		return nil, errCorrupt
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, errCorrupt
	}
	values := make(map[any]any, len(obj))
	for k, v := range obj {
		switch v := v.(type) {
		case string:
		case []any:
			for _, item := range v {
				if _, ok := item.(string); !ok {
					return nil, errCorrupt
				}
			}
		default:
			return nil, errCorrupt
		}
		values[k] = v
	}
	return values, nil
}
