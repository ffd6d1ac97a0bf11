package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mass-consensus/mass/internal/node"
)

// TestStatusShape: the answer of GET /v1/status carries every field of
// the node's status under the node's own names, so that a field added to
// node.Status and not to apijson.Status (or not to the conversion) fails
// here.
func TestStatusShape(t *testing.T) {
	var st node.Status
	v := reflect.ValueOf(&st).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("v" + v.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.5)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]int{i, i + 1}))
		default:
			t.Fatalf("node.Status.%s: a field of kind %s the test does not fill", v.Type().Field(i).Name, f.Kind())
		}
	}
	want, _ := json.Marshal(st)
	got, _ := json.Marshal(statusJSON(st))
	var w, g map[string]any
	json.Unmarshal(want, &w)
	json.Unmarshal(got, &g)
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("GET /v1/status answers\n%s\nfor the node's status\n%s", got, want)
	}
}
