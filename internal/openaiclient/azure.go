package openaiclient

import openai "github.com/sashabaranov/go-openai"

// Azure selects Azure OpenAI's deployment API: requests go to
// BASE/openai/deployments/DEPLOYMENT/…?api-version=APIVersion with the key
// in the api-key header (go-openai's DefaultAzureConfig). Azure's newer v1
// endpoint, BASE/openai/v1/, needs none of this: it is a plain
// OpenAI-compatible base URL whose model names are deployment names.
type Azure struct {
	// APIVersion is the api-version query parameter. Default
	// DefaultAzureAPIVersion.
	APIVersion string
	// Deployments maps a model, as relator is configured with it, to the
	// name of its deployment. A model not listed is sent as its own
	// deployment name, as deployments are often named.
	Deployments map[string]string
}

// DefaultAzureAPIVersion is the newest generally available data-plane
// version of the deployment API, and one with structured outputs (strict
// json_schema response formats), which the classifier needs.
const DefaultAzureAPIVersion = "2024-10-21"

func (a *Azure) config(apiKey, baseURL string) openai.ClientConfig {
	cfg := openai.DefaultAzureConfig(apiKey, baseURL)
	cfg.APIVersion = a.APIVersion
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAzureAPIVersion
	}
	deployments := a.Deployments
	cfg.AzureModelMapperFunc = func(model string) string {
		if d, ok := deployments[model]; ok {
			return d
		}
		return model
	}
	return cfg
}
