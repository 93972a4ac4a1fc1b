"""Local LoRA fine-tuning of a llama GGUF on the person's own documents and feedback."""
