package carwash_test

import (
	"fmt"

	"github.com/tidemark/tidemark/domain/carwash"
)

func ExampleDecode() {
	// The platform document's own example (its callTime is not a real time, and is accepted).
	body := []byte(`{
	"callTime": 12345667890,
	"callbackType": "FINISH_WASH",
	"washerId": 123456,
	"iotId":123456,
	"orderId":"ORDER123456"
}`)
	acc, err := carwash.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(acc.Stream, acc.Type, acc.CallTime)
	fmt.Println(string(acc.Data))

	_, err = carwash.Decode([]byte(`{"callTime":1732262400000,"callbackType":"MACHINE_ERROR","iotId":"abc"}`))
	fmt.Println(err)
	// Output:
	// carwash.device-123456 carwash.FINISH_WASH 12345667890
	// {"callTime":12345667890,"callbackType":"FINISH_WASH","iotId":123456,"orderId":"ORDER123456","washerId":123456}
	// iotId must be an integer (got string "abc")
}
