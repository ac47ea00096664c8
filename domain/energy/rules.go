package energy

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// callbackRules carries the sent values of a callback to the validator;
// a nil pointer is a field that was not sent. Field order is the
// platform document's, so the first error is the first field in it.
type callbackRules struct {
	OrderID              string `json:"orderId" validate:"notblank,max=128"` // domain.MaxIDLen
	ReceiveAddress       string `json:"receiveAddress" validate:"omitempty,tron_address"`
	Residue              *int64 `json:"residue" validate:"omitnil,min=0"`
	TriggerTransactionID string `json:"triggerTransactionId" validate:"omitempty,trigger_tx"`
	Recharge             *int64 `json:"recharge" validate:"omitnil,enum=0 1"`
	State                *int64 `json:"state" validate:"omitnil,enum=0 1 2"`
	AutoType             *int64 `json:"autoType" validate:"omitnil,enum=0 1"`
	Payment              *int64 `json:"payment" validate:"omitnil,enum=0 1"`
	MaxDelegateNums      *int64 `json:"maxDelegateNums" validate:"omitnil,min=0"`
	TotalDelegateNums    *int64 `json:"totalDelegateNums" validate:"omitnil,min=0"`
	DetentionChargeTime  *int64 `json:"detentionChargeTime" validate:"omitnil,min=0"`
	Hash                 string `json:"hash" validate:"omitempty,tx_hash"`
	BandwidthHash        string `json:"bandwidthHash" validate:"omitempty,tx_hash"`
	ResourceType         *int64 `json:"resourceType" validate:"omitnil,enum=0 1"`
	Source               *int64 `json:"source" validate:"omitnil,enum=0 1 2"`
	EnergyNums           *int64 `json:"energyNums" validate:"omitnil,min=0,max=1000000000000000"`
	OrderMoney           *int64 `json:"orderMoney" validate:"omitnil,max=100000000000000000"`
}

// Upper bounds on the amounts an order sums, so that no single callback can
// make a sum overflow int64 (the bounds in callbackRules' tags are these):
// MaxOrderMoneySun is 100 billion TRX, more than all TRX in existence, and
// MaxEnergyNums is 10^15 energy, millions of times a day's whole network.
// A sum needs over 92 callbacks at the bound to overflow; the fold then
// refuses the event (ErrOverflow) and the projection records it as poison.
const (
	MaxOrderMoneySun = 100_000_000_000 * SunPerTrx
	MaxEnergyNums    = 1_000_000_000_000_000
)

type validationErrors = validator.ValidationErrors

// triggerFirst is the triggerTransactionId of the first callback after a
// count order starts.
const triggerFirst = "triggerFirst"

// rulesValidator is built once: validator caches struct metadata.
var rulesValidator = sync.OnceValues(func() (*validator.Validate, error) {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	for tag, fn := range map[string]validator.Func{
		"notblank":     func(fl validator.FieldLevel) bool { return strings.TrimSpace(fl.Field().String()) != "" },
		"tron_address": func(fl validator.FieldLevel) bool { return ValidAddress(fl.Field().String()) },
		"tx_hash":      func(fl validator.FieldLevel) bool { return ValidTxHash(fl.Field().String()) },
		"trigger_tx": func(fl validator.FieldLevel) bool {
			s := fl.Field().String()
			return s == triggerFirst || ValidTxHash(s)
		},
		"enum": enumRule,
	} {
		if err := v.RegisterValidation(tag, fn); err != nil {
			return nil, fmt.Errorf("registering rule %s: %w", tag, err)
		}
	}
	return v, nil
})

// enumRule: the integer is one of the space-separated values of the param.
func enumRule(fl validator.FieldLevel) bool {
	f := fl.Field()
	if !f.CanInt() {
		return false
	}
	n := f.Int()
	for _, p := range strings.Fields(fl.Param()) {
		if want, err := strconv.ParseInt(p, 10, 64); err == nil && want == n {
			return true
		}
	}
	return false
}
