module github.com/relator/relator

go 1.26.8

require (
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/sashabaranov/go-openai v1.43.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	golang.org/x/sys v0.39.0 // indirect
)
