/* critmat dashboard: draws the figures of a page and runs scenarios through the API. */
"use strict";

const PLOT_CONFIG = {displaylogo: false, responsive: true, topojsonURL: "/static/topojson/"};

/* The session cookie is HttpOnly: the browser sends it, no script reads it. A request that
   changes something carries the page's CSRF token (the server refuses it otherwise). */
function csrf() {
  const meta = document.querySelector("meta[name=csrf-token]");
  return meta ? meta.content : "";
}

async function api(method, path, body) {
  const headers = {"Accept": "application/json"};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(path, {method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body)});
  let data = null;
  try { data = await reply.json(); } catch (e) { data = null; }
  return {status: reply.status, ok: reply.ok, data};
}

function drawFigures() {
  document.querySelectorAll("div.chart[data-figure]").forEach((div) => {
    const fig = JSON.parse(document.getElementById(div.dataset.figure).textContent);
    Plotly.newPlot(div, fig.data, fig.layout, PLOT_CONFIG);
  });
}

function explain(reply) {
  const err = reply.data && reply.data.error;
  if (reply.status === 403) return "Not allowed: running a scenario needs the analyst role (the API answered 403" + (err ? ": " + err.message : "") + ").";
  if (reply.status === 401) return "Your sign-in has expired: sign in again.";
  return "The server answered " + reply.status + (err ? ": " + err.message : "") + ".";
}

function runner() {
  const form = document.getElementById("scenario-form");
  if (!form) return;
  const status = document.getElementById("job-status");
  const bar = document.getElementById("job-progress");
  const box = document.getElementById("job");
  const error = document.getElementById("job-error");
  const result = document.getElementById("scenario-result");
  const fail = (text) => { error.textContent = text; error.hidden = false; box.hidden = true; };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true; result.hidden = true;
    const body = {preset: form.preset.value, samples: parseInt(form.samples.value, 10)};
    const started = await api("POST", "/scenarios/jobs", body);
    if (!started.ok) { fail(explain(started)); return; }
    const id = started.data.id;
    box.hidden = false; bar.value = 0;
    const cancel = document.getElementById("cancel");
    cancel.hidden = false;
    cancel.onclick = async () => {
      const reply = await api("DELETE", "/scenarios/jobs/" + id);
      if (!reply.ok) fail(explain(reply));
    };
    status.textContent = "Job " + id + " queued";
    for (;;) {
      await new Promise((r) => setTimeout(r, 400));
      const job = await api("GET", "/scenarios/jobs/" + id);
      if (!job.ok) { fail(explain(job)); return; }
      const p = job.data.progress || {};
      if (p.fraction !== null && p.fraction !== undefined) bar.value = p.fraction;
      status.textContent = "Job " + id + ": " + job.data.status + (p.total ? " (" + p.done + " of " + p.total + " scenarios)" : "");
      if (job.data.status === "done") break;
      if (job.data.status === "failed" || job.data.status === "cancelled") {
        cancel.hidden = true;
        fail("The job " + job.data.status + (job.data.error ? ": " + job.data.error.message : "") + ".");
        return;
      }
    }
    cancel.hidden = true;
    const reply = await fetch("/ui/scenario/" + id, {headers: {"Accept": "application/json"}});
    const out = await reply.json();
    if (!reply.ok) { fail("Cannot show the result: " + (out.error ? out.error.message : reply.status)); return; }
    document.getElementById("result-title").textContent = out.title;
    result.hidden = false;
    await Plotly.newPlot("fan-chart", out.figure.data, out.figure.layout, PLOT_CONFIG);
    document.getElementById("fan-source").textContent = "Sources: " + out.sources.join("; ") + ". Shortfall in months of EU baseline demand; bands: percentiles over the scenarios.";
    document.getElementById("stockout-table").innerHTML = out.table;
    status.textContent = "Job " + id + ": done";
  });
}

document.addEventListener("DOMContentLoaded", () => { drawFigures(); runner(); });
