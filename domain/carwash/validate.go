package carwash

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/tidemark/tidemark/domain"
)

// Presence and range rules, checked with validator/v10 once the JSON kinds
// are known to be right (values.go). Enum fields have no rule here: unknown
// values are kept, never rejected.

type envelopeRules struct {
	CallTime     *int64 `json:"callTime" validate:"required,gt=0"`
	CallbackType string `json:"callbackType" validate:"required"`
}

type deviceRules struct {
	IotID *int64 `json:"iotId" validate:"required,gt=0"`
}

// fleetRules: the list must exist and route to at least one device; ids
// that are not positive are skipped, not refused (see Callback.Devices).
type fleetRules struct {
	IotIDList []int64 `json:"iotIdList" validate:"required,min=1,routable"`
}

type orderRules struct {
	OrderID string `json:"orderId" validate:"required,max=128"` // domain.MaxIDLen
}

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	// A library-internal registration error would be a programming error
	// caught by every test; ignoring it keeps package init panic-free.
	_ = v.RegisterValidation("routable", func(fl validator.FieldLevel) bool {
		ids, ok := fl.Field().Interface().([]int64)
		return ok && routable(ids)
	})
	return v
}

// routable: at least one id names a device.
func routable(ids []int64) bool {
	for _, id := range ids {
		if id > 0 {
			return true
		}
	}
	return false
}

// The rules run for every event of a rebuild, and validator's reflection
// costs more than the rest of parsing. So a direct test of the same rules
// admits the common valid case, and validator, the authority, runs only
// when it fails, to confirm and name the broken rule. envelopeHolds and
// typeHolds must never admit what the tags reject (validate_internal_test.go).

func envelopeHolds(callTime int64, hasCallTime bool, callbackType string) bool {
	return hasCallTime && callTime > 0 && callbackType != ""
}

func typeHolds(spec typeSpec, c *Callback, hasIotID bool) bool {
	if spec.has(fIotID) && (!hasIotID || c.IotID <= 0) {
		return false
	}
	if spec.has(fIotIDList) && !routable(c.IotIDList) {
		return false
	}
	return !spec.needOrder || (c.OrderID != "" && len(c.OrderID) <= domain.MaxIDLen)
}

func checkEnvelope(callTime int64, hasCallTime bool, callbackType string) error {
	if envelopeHolds(callTime, hasCallTime, callbackType) {
		return nil
	}
	return check(envelopeRules{CallTime: optional(callTime, hasCallTime), CallbackType: callbackType}, "")
}

// checkType applies the required rules of a known type.
func checkType(spec typeSpec, c *Callback, hasIotID bool) error {
	if typeHolds(spec, c, hasIotID) {
		return nil
	}
	if spec.has(fIotID) {
		if err := check(deviceRules{IotID: optional(c.IotID, hasIotID)}, c.CallbackType); err != nil {
			return err
		}
	}
	if spec.has(fIotIDList) {
		if err := check(fleetRules{IotIDList: c.IotIDList}, c.CallbackType); err != nil {
			return err
		}
	}
	if spec.needOrder {
		if err := check(orderRules{OrderID: c.OrderID}, c.CallbackType); err != nil {
			return err
		}
	}
	return nil
}

// optional is a pointer to a copy of v (allocated only on this slow path), or nil.
func optional(v int64, ok bool) *int64 {
	if !ok {
		return nil
	}
	return &v
}

// check runs validator on rules and turns its first failure into a
// *domain.ValidationError.
func check(rules any, callbackType string) error {
	err := validate.Struct(rules)
	if err == nil {
		return nil
	}
	var fes validator.ValidationErrors
	if !errors.As(err, &fes) || len(fes) == 0 {
		return fmt.Errorf("validating %T: %w", rules, err)
	}
	fe := fes[0]
	name := fe.Field()
	if i := strings.IndexByte(fe.Namespace(), '.'); i >= 0 {
		name = fe.Namespace()[i+1:] // keeps the index of a list element: iotIdList[2]
	}
	return &domain.ValidationError{Field: name, Rule: fe.Tag(), Message: message(name, fe, callbackType)}
}

func message(name string, fe validator.FieldError, callbackType string) string {
	switch fe.Tag() {
	case "required":
		if callbackType != "" {
			return fmt.Sprintf("%s is required for %s", name, callbackType)
		}
		return name + " is required"
	case "gt":
		return fmt.Sprintf("%s must be greater than %s (got %v)", name, fe.Param(), fe.Value())
	case "min":
		return name + " must not be empty"
	case "max":
		return fmt.Sprintf("%s must be at most %s bytes long (got %d)", name, fe.Param(), len(fmt.Sprint(fe.Value())))
	case "routable":
		return fmt.Sprintf("%s must hold at least one positive device id (got %v)", name, truncate(fe.Value()))
	}
	return fmt.Sprintf("%s breaks rule %s", name, fe.Tag())
}

func truncate(v any) string {
	r := []rune(fmt.Sprint(v))
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return string(r)
}
