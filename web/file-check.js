// A classic script, because a page opened from file:// cannot load module scripts at all: there,
// each <vae-playground> says that the page must be served over HTTP, and fires its error event.
//   <script src="vae-playground/file-check.js"></script>
if (location.protocol === "file:") {
  const message = "This widget cannot run from a file:// page: browsers load WebAssembly modules only over HTTP. Serve the folder (for example `python3 -m http.server` in it) and open the page from http://localhost.";
  const note = () => {
    const p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = message;
    return p;
  };
  const explain = () => {
    const widgets = document.querySelectorAll("vae-playground");
    if (widgets.length === 0) document.body.append(note()); // embed.html: its widget is made by a module
    for (const widget of widgets) {
      widget.replaceChildren(note());
      widget.dispatchEvent(new CustomEvent("error", { detail: { type: "file-protocol", message }, bubbles: true, composed: true }));
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", explain);
  else explain();
}
