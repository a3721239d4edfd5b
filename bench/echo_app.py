"""The floor: a plain Gradio streaming echo app, paced like the backend (for bench/streaming.py)."""

import os
import time

import gradio as gr


def echo(message: str, history: list) -> object:
    opts = dict(part.split("=") for part in message.split() if "=" in part)
    time.sleep(float(opts.get("first", 0)))
    text = ""
    for i in range(int(opts.get("pieces", 200))):
        if i:
            time.sleep(float(opts.get("delay", 0.01)))
        text += f" w{i}"
        yield text


demo = gr.ChatInterface(echo, api_name="chat", concurrency_limit=None)

if __name__ == "__main__":
    demo.launch(server_port=int(os.environ.get("PORT", "7861")), server_name="127.0.0.1")
