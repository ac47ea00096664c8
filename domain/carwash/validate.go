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
	CallbackType string `json:"callbackType" validate:"required,callback_type"`
}

type deviceRules struct {
	IotID *int64 `json:"iotId" validate:"required,gt=0"`
}

type fleetRules struct {
	IotIDList []int64 `json:"iotIdList" validate:"required,min=1,dive,gt=0"`
}

type orderRules struct {
	OrderID string `json:"orderId" validate:"required"`
}

// maxTypeLen bounds callbackType: it becomes an event type and a metrics label.
const maxTypeLen = 64

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	// A library-internal registration error would be a programming error
	// caught by every test; ignoring it keeps package init panic-free.
	_ = v.RegisterValidation("callback_type", func(fl validator.FieldLevel) bool {
		return validCallbackType(fl.Field().String())
	})
	return v
}

// validCallbackType: 1 to 64 ASCII letters, digits, '_', '-' or '.'.
func validCallbackType(s string) bool {
	if len(s) == 0 || len(s) > maxTypeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// The rules run for every event of a rebuild, and validator's reflection
// costs more than the rest of parsing. So a direct test of the same rules
// admits the common valid case, and validator, the authority, runs only
// when it fails, to confirm and name the broken rule. envelopeHolds and
// typeHolds must never admit what the tags reject (validate_internal_test.go).

func envelopeHolds(callTime int64, hasCallTime bool, callbackType string) bool {
	return hasCallTime && callTime > 0 && validCallbackType(callbackType)
}

func typeHolds(spec typeSpec, c *Callback, hasIotID bool) bool {
	if spec.has(fIotID) && (!hasIotID || c.IotID <= 0) {
		return false
	}
	if spec.has(fIotIDList) {
		if len(c.IotIDList) == 0 {
			return false
		}
		for _, id := range c.IotIDList {
			if id <= 0 {
				return false
			}
		}
	}
	return !spec.needOrder || c.OrderID != ""
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
	case "callback_type":
		return fmt.Sprintf("callbackType must be 1 to %d letters, digits, '_', '-' or '.' (got %q)", maxTypeLen, truncate(fe.Value()))
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
