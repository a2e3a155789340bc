package tools

import (
	"fmt"
	"os/exec"
)

func Convert(in string) error {
	return exec.Command("/bin/bash", "-c", fmt.Sprintf("ffmpeg -i %s out.mp4", in)).Run()
}
