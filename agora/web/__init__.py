"""The Gradio page: what teachers and students see."""
