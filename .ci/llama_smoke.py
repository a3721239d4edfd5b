"""Does the installed llama-cpp-python process a real prompt with SmolLM2? Exit 0 if it does.

Run in its own process, because the failure it looks for is a segfault.
"""

import subprocess
import sys

CHECK = """
from llama_cpp import Llama
from agora.server.engines.llama import smollm2_path
llm = Llama(model_path=str(smollm2_path()), n_ctx=512, n_threads=1, verbose=False)
llm.create_chat_completion(messages=[{"role": "user", "content": "What is philosophy, in one sentence?"}], max_tokens=4)
"""

result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
if result.returncode != 0:
    print(f"llama-cpp-python cannot process a prompt here (exit {result.returncode}); rebuilding it portable",
          file=sys.stderr)
sys.exit(result.returncode != 0)
