r"""The report's replay of a run: one frame per snapshot — the samples over the data density with D's decision
surface (2-D), the Figure-1 panel (1-D) or the sample grid from the same fixed noise (images) — beside V̂ (or
L_D) and mean D(G(z)) with a marker at the frame's step, and an inline script with a slider and a play button:
offline, in the report's one HTML file. What each snapshot records: :mod:`minimax.run.snapshots`.
"""
from __future__ import annotations

import html
import json


def replay_html(frames: list[tuple[int, str]], key: str) -> str:
    """A slider and a play button through ``frames`` ((step, image data URI) pairs), with an inline script."""
    if not frames:
        return ""
    k = html.escape(key)
    steps, uris = [s for s, _ in frames], [u for _, u in frames]
    last = len(frames) - 1
    return f"""<div class="replay" id="replay-{k}">
<div><button type="button" class="replay-play">&#9654; play</button>
<input type="range" class="replay-slider" min="0" max="{last}" value="{last}" step="1" aria-label="snapshot">
<span class="replay-step">step {steps[-1]}</span></div>
<img class="replay-frame" src="{uris[-1]}" alt="the game at a snapshot">
<script>(function () {{
  const root = document.getElementById("replay-{k}");
  const frames = {json.dumps(uris)}, steps = {json.dumps(steps)};
  const slider = root.querySelector(".replay-slider"), img = root.querySelector(".replay-frame");
  const label = root.querySelector(".replay-step"), button = root.querySelector(".replay-play");
  let timer = null;
  function show(i) {{ slider.value = i; img.src = frames[i]; label.textContent = "step " + steps[i]; }}
  slider.addEventListener("input", () => show(Number(slider.value)));
  button.addEventListener("click", () => {{
    if (timer) {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654; play"; return; }}
    if (Number(slider.value) >= frames.length - 1) show(0);
    button.innerHTML = "&#10074;&#10074; pause";
    timer = setInterval(() => {{
      const i = Number(slider.value) + 1;
      if (i >= frames.length) {{ clearInterval(timer); timer = null; button.innerHTML = "&#9654; play"; return; }}
      show(i);
    }}, 600);
  }});
}})();</script>
</div>"""
