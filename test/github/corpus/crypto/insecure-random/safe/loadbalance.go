package lb

import "math/rand"

func Pick(backends []string) string {
	return backends[rand.Intn(len(backends))]
}
