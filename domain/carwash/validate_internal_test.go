package carwash

import (
	"testing"
)

// The fast checks must never admit what validator's tags reject, and
// should admit what they accept (else validator runs for nothing).
func TestFastRulesAgreeWithValidator(t *testing.T) {
	ints := []*int64{nil, ptr(int64(-1)), ptr(int64(0)), ptr(int64(1)), ptr(int64(12345667890))}
	types := []string{"", "FINISH_WASH", "X", "bad type", "a.b-c_D9", string(make([]byte, 65))}
	for _, ct := range ints {
		for _, typ := range types {
			fast := envelopeHolds(val(ct), ct != nil, typ)
			slow := check(envelopeRules{CallTime: ct, CallbackType: typ}, "") == nil
			if fast != slow {
				t.Errorf("envelope %v %q: fast %v, validator %v", deref(ct), typ, fast, slow)
			}
		}
	}
	lists := [][]int64{nil, {}, {1}, {1, 0}, {-2, 3}, {5, 6, 7}}
	orders := []string{"", "A"}
	for typ, spec := range typeSpecs {
		for _, id := range ints {
			for _, list := range lists {
				for _, order := range orders {
					c := &Callback{CallbackType: typ, IotID: val(id), IotIDList: list, OrderID: order}
					fast := typeHolds(spec, c, id != nil)
					var slow bool
					{
						ok := true
						if spec.has(fIotID) && check(deviceRules{IotID: id}, typ) != nil {
							ok = false
						}
						if spec.has(fIotIDList) && check(fleetRules{IotIDList: list}, typ) != nil {
							ok = false
						}
						if spec.needOrder && check(orderRules{OrderID: order}, typ) != nil {
							ok = false
						}
						slow = ok
					}
					if fast != slow {
						t.Errorf("%s iotId %v list %v order %q: fast %v, validator %v", typ, deref(id), list, order, fast, slow)
					}
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
