package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The session data format. Not JSON: JSON rewrites invalid UTF-8 (a string
// would not come back byte for byte) and turns int64 into float64. Not gob:
// gob needs type registration for interface values and is the slowest part
// of gorilla's own stores. The format is
//
//	version byte, uvarint count, then per entry sorted by key:
//	uvarint len + key bytes, tag byte, payload
//
// Sorting makes equal data encode to equal bytes, which Save relies on to
// skip writes when nothing changed.
//
// The version byte lets the format change without signing anyone out:
// decode dispatches on it and keeps every version a live row may still
// hold; encode writes codecVersion, which a release raises only once the
// release before it could already read the new version.
const codecVersion = 1

// Value tags. A list holds only scalars; it exists for gorilla's flashes
// (Session.AddFlash stores a []interface{} under "_flash").
const (
	tagNil    = 'n'
	tagString = 's'
	tagTrue   = 't'
	tagFalse  = 'f'
	tagInt    = 'i'
	tagInt64  = 'l'
	tagList   = 'L'
)

// encode serialises the storable entries of values: string keys with
// string, bool, int, int64 or nil values, or a flat []interface{} of those.
// Anything else is a programming error, reported with the key's name (never
// its value, which may be a token).
func encode(values map[any]any) ([]byte, error) {
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
	buf := make([]byte, 0, 64)
	buf = append(buf, codecVersion)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	var err error
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
)

// decoder reads the format above; the first problem sticks in err so the
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
