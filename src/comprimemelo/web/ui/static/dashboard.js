// The dashboard: uploads with progress (one archive per file, or one for
// all), task options (speed, level, password, retention), live task statuses
// and progress, deletion, notification settings.
// Plain JavaScript, no dependencies; the page works from the REST API with the
// session cookie, sending the CSRF token on every state-changing request.
"use strict";

(() => {
  const root = document.querySelector("[data-dashboard]");
  if (!root) return;

  const ACTIVE_STATUSES = new Set(["uploaded", "processing"]);
  const UPLOAD_CONCURRENCY = 2;
  const POLL_BACKOFF_MS = 5000;
  const RELATIVE_TIME_REFRESH_MS = 30000;
  const SEARCH_DEBOUNCE_MS = 300;
  const TOAST_MS = 4000;

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const maxUploadBytes = Number(root.dataset.maxUploadBytes);
  const maxFilesPerTask = Number(root.dataset.maxFilesPerTask) || Infinity;
  // Room for the multipart boundaries and fields around the files of one request.
  const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
  const pollIntervalMs = Number(root.dataset.pollIntervalMs) || 1000;
  const tasksUrl = root.dataset.tasksUrl;
  const pageSize = Number(root.dataset.pageSize) || 50;
  const uploadUrl = root.dataset.uploadUrl;
  const sessionsUrl = root.dataset.resumableUrl;
  const maxResumableBytes = Number(root.dataset.maxResumableBytes) || maxUploadBytes;
  const loginUrl = root.dataset.loginUrl;

  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const formatSelect = document.getElementById("format");
  const levelInput = document.getElementById("level");
  const levelHint = document.getElementById("level-hint");
  const presetSelect = document.getElementById("preset");
  const presetHint = document.getElementById("preset-hint");
  const passwordInput = document.getElementById("archive-password");
  const passwordHint = document.getElementById("password-hint");
  const retentionSelect = document.getElementById("retention");
  const oneArchive = document.getElementById("one-archive");
  const batchError = document.getElementById("batch-error");
  const uploadButton = document.getElementById("upload-button");
  const uploadList = document.getElementById("uploads");
  const rows = document.getElementById("task-rows");
  const tasksWrap = document.getElementById("tasks-wrap");
  const emptyState = document.getElementById("empty-state");
  const taskCount = document.getElementById("task-count");
  const statusFilter = document.getElementById("status-filter");
  const searchFilter = document.getElementById("search-filter");
  const noMatch = document.getElementById("no-match");
  const loadMore = document.getElementById("load-more");
  const dialog = document.getElementById("delete-dialog");
  const deleteName = document.getElementById("delete-name");
  const toasts = document.getElementById("toasts");

  // --- formatting (the same wording as the server's template filters) ---

  function fileSize(size) {
    if (size === null || size === undefined) return "—";
    if (size < 1000) return `${size} B`;
    let value = size;
    for (const unit of ["KB", "MB", "GB", "TB"]) {
      value /= 1000;
      if (value < 1000 || unit === "TB") {
        return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} ${unit}`;
      }
    }
    return `${size} B`;
  }

  function saving(task) {
    if (task.size_compressed === null || !task.size_original) return "";
    const change = Math.round(((task.size_compressed - task.size_original) * 100) / task.size_original);
    return change < 0 ? `−${-change}%` : `+${change}%`;
  }

  const relative = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  // [unit, seconds, used from]: as ui.RELTIME_UNITS.
  const RELTIME_UNITS = [["day", 86400, 22 * 3600], ["hour", 3600, 45 * 60], ["minute", 60, 45]];

  // "5 minutes ago", or "in 7 days" for a time ahead.
  function relativeTime(iso) {
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    const sign = seconds > 0 ? -1 : 1;
    if (Math.abs(seconds) < 45) return "just now";
    for (const [unit, size, threshold] of RELTIME_UNITS) {
      if (Math.abs(seconds) >= threshold) return relative.format(sign * Math.round(Math.abs(seconds) / size), unit);
    }
    return relative.format(sign, "minute");
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== "") node.append(child);
    }
    return node;
  }

  function hidden(text) {
    return el("span", { className: "visually-hidden" }, text);
  }

  function toast(message, kind = "info") {
    const node = el("div", { className: `toast toast--${kind}` }, message);
    toasts.append(node);
    setTimeout(() => node.remove(), TOAST_MS);
  }

  // --- the task table ---

  const SVG = "http://www.w3.org/2000/svg";

  function lockIcon() {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M7 11V8a5 5 0 0 1 10 0v3M6 11h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1Z");
    for (const [name, value] of [["fill", "none"], ["stroke", "currentColor"], ["stroke-width", "2"],
      ["stroke-linecap", "round"], ["stroke-linejoin", "round"]]) path.setAttribute(name, value);
    svg.append(path);
    return el("span", { className: "lock", role: "img", "aria-label": "encrypted", title: "Encrypted with a password" }, svg);
  }

  function taskName(task) {
    const files = task.files || [];
    return files.length < 2 ? task.filename : `${task.filename} + ${files.length - 1} more`;
  }

  function finishedCell(iso) {
    return el(
      "td",
      { "data-label": "Finished" },
      iso ? el("time", { datetime: iso, title: iso }, relativeTime(iso)) : el("span", { className: "muted" }, "—"),
    );
  }

  function expiresCell(iso) {
    return el(
      "td",
      { "data-label": "Expires" },
      iso
        ? el("span", { className: "task__expires", "data-datetime": iso, title: iso }, relativeTime(iso))
        : el("span", { className: "muted" }, "—"),
    );
  }

  function progressOf(task) {
    return Number(task.progress) || 0;
  }

  // Same markup as the task_row macro in templates/_macros.html.
  function renderRow(task) {
    const name = taskName(task);
    const files = task.files || [];
    const fileCell = el(
      "td",
      { className: "task__file", "data-label": "File" },
      el("span", { className: "task__name", title: name }, name),
      files.length > 1
        ? el("ul", { className: "task__files", "aria-label": "Files in this archive" },
          ...files.map((item) => el("li", { title: item.filename }, item.filename)))
        : null,
      task.status === "failed" && task.error ? el("span", { className: "task__error" }, task.error) : null,
    );
    const formatCell = el(
      "td",
      { "data-label": "Format" },
      el("span", { className: "format" }, task.new_format),
      task.level !== null ? " " : null,
      task.level !== null ? el("span", { className: "level", title: "compression level" }, `L${task.level}`) : null,
      task.encrypted ? " " : null,
      task.encrypted ? lockIcon() : null,
    );
    const saved = saving(task);
    const savedCell = el(
      "td",
      { className: "num", "data-label": "Saved" },
      saved ? el("span", { className: saved.startsWith("+") ? "saving saving--worse" : "saving" }, saved) : "—",
    );
    const percent = progressOf(task);
    const statusCell = el(
      "td",
      { "data-label": "Status" },
      el("span", { className: `badge badge--${task.status}` }, task.status),
      task.status === "processing"
        ? el("span", { className: "task__progress" },
          el("progress", { max: "100", value: String(percent), "aria-label": `Compression of ${name}` }),
          " ",
          el("span", { className: "task__percent" }, `${percent}%`))
        : null,
    );
    const actions = el(
      "td",
      { className: "task__actions", "data-label": "Actions" },
      task.original_url
        ? el("a", { className: "button button--small button--ghost", href: task.original_url, download: true },
          "Original", hidden(` of ${name}`))
        : null,
      task.compressed_url
        ? el("a", { className: "button button--small button--accent", href: task.compressed_url, download: true,
          "data-action": "download-archive" }, "Archive", hidden(` of ${name}`))
        : null,
      el("button", { type: "button", className: "button button--small button--danger-ghost", "data-action": "delete" },
        "Delete", hidden(` ${name}`)),
    );
    return el(
      "tr",
      { className: "task", "data-task-id": String(task.id), "data-status": task.status, "data-progress": String(percent) },
      fileCell,
      formatCell,
      el("td", { className: "num", "data-label": "Original" }, fileSize(task.size_original)),
      el("td", { className: "num", "data-label": "Compressed" }, fileSize(task.size_compressed)),
      savedCell,
      statusCell,
      finishedCell(task.processed_at),
      expiresCell(task.expires_at),
      actions,
    );
  }

  // Only the percent moved: update the bar in place (focus and hover stay).
  function updateProgress(row, task) {
    const percent = progressOf(task);
    row.dataset.progress = String(percent);
    const bar = row.querySelector(".task__progress progress");
    if (bar) bar.value = percent;
    const text = row.querySelector(".task__percent");
    if (text) text.textContent = `${percent}%`;
  }

  function refreshSummary() {
    const count = rows.children.length;
    taskCount.textContent = `${count} task${count === 1 ? "" : "s"}`;
    const filtered = Boolean(statusFilter.value || searchFilter.value.trim());
    emptyState.hidden = count > 0 || filtered;
    noMatch.hidden = count > 0 || !filtered;
    tasksWrap.hidden = count === 0;
    refreshUsageIfChanged();
  }

  // --- usage against the quotas: fetched again when the tasks or their statuses change ---

  const usage = document.getElementById("usage");
  let usageSignature = [...rows.children].map((row) => `${row.dataset.taskId}:${row.dataset.status}`).join();

  function showUsage(quotas) {
    for (const item of usage.querySelectorAll("[data-quota]")) {
      const { used, limit } = quotas[item.dataset.quota];
      const meter = item.querySelector("meter");
      if (meter) meter.value = used;
      const bytes = item.dataset.quota === "storage_bytes";
      item.querySelector(".usage__used").textContent = bytes ? fileSize(used) : String(used);
    }
  }

  async function refreshUsageIfChanged() {
    const signature = [...rows.children].map((row) => `${row.dataset.taskId}:${row.dataset.status}`).join();
    if (!usage || signature === usageSignature) return;
    usageSignature = signature;
    try {
      const response = await fetch(usage.dataset.accountUrl, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (response.ok) showUsage((await response.json()).quotas);
    } catch (error) {
      // the next change tries again
    }
  }

  function replaceRow(row, task) {
    const focused = row.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    const fresh = renderRow(task);
    row.replaceWith(fresh);
    if (focused) fresh.querySelector(`[data-action="${focused}"]`)?.focus();
    return fresh;
  }

  // Bring the table in line with ``tasks`` (newest first): rows whose status
  // did not change are kept as they are (a new percent is written in place),
  // so focus and hover survive a poll.
  function applyTasks(tasks) {
    const existing = new Map([...rows.children].map((row) => [row.dataset.taskId, row]));
    let previous = null;
    for (const task of tasks) {
      const id = String(task.id);
      let row = existing.get(id);
      existing.delete(id);
      if (!row) {
        row = renderRow(task);
        row.classList.add("task--new");
      } else if (row.dataset.status !== task.status) {
        row = replaceRow(row, task);
      } else if (row.dataset.progress !== String(progressOf(task))) {
        updateProgress(row, task);
      }
      const wanted = previous ? previous.nextElementSibling : rows.firstElementChild;
      if (wanted !== row) rows.insertBefore(row, wanted);
      previous = row;
    }
    for (const row of existing.values()) row.remove();
    refreshSummary();
  }

  function addTask(task) {
    if (rows.querySelector(`tr[data-task-id="${task.id}"]`)) return;
    const row = renderRow(task);
    row.classList.add("task--new");
    rows.prepend(row);
    refreshSummary();
  }

  // --- the list, a page at a time: the first page (with the filters) is polled;
  // "Load more" follows the answer's Link rel="next", the server's cursor ---

  let pollTimer = null;
  let localChanges = 0; // bumped by uploads, deletions and filters: older answers are stale
  let nextUrl = loadMore.dataset.nextUrl || null;
  let pagesShown = 1;
  let firstPageBody = null; // the first page's JSON as last applied: an unchanged poll changes nothing

  function firstPageUrl() {
    const params = new URLSearchParams({ max: String(pageSize), order: "1" });
    if (statusFilter.value) params.set("status", statusFilter.value);
    const search = searchFilter.value.trim();
    if (search) params.set("search", search);
    return `${tasksUrl}?${params}`;
  }

  // The URL of the page after this answer's, from its RFC 8288 Link header, or null.
  function nextLink(response) {
    const header = response.headers.get("Link") || "";
    const found = /<([^>]*)>\s*;\s*rel="?next"?/.exec(header);
    return found ? new URL(found[1], response.url).href : null;
  }

  async function fetchPage(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      // Revalidate what the browser holds: an unchanged list comes back 304, without a body.
      cache: "no-cache",
      headers: { Accept: "application/json" },
    });
    if (response.status === 401) {
      window.location.assign(loginUrl);
      return null;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.text();
    return { body, tasks: JSON.parse(body), next: nextLink(response) };
  }

  function showNext(url) {
    nextUrl = url;
    loadMore.hidden = nextUrl === null;
  }

  // The first ``pages`` pages from the start, one after another along their links.
  async function fetchPages(pages) {
    const first = await fetchPage(firstPageUrl());
    if (!first) return null;
    const shown = { firstBody: first.body, tasks: [...first.tasks], next: first.next, pages: 1 };
    while (shown.pages < pages && shown.next) {
      const page = await fetchPage(shown.next);
      if (!page) return null;
      shown.tasks.push(...page.tasks);
      shown.next = page.next;
      shown.pages += 1;
    }
    return shown;
  }

  function applyShown(shown) {
    applyTasks(shown.tasks);
    firstPageBody = shown.firstBody;
    pagesShown = shown.pages;
    showNext(shown.next);
  }

  function needsPolling() {
    return [...rows.children].some((row) => ACTIVE_STATUSES.has(row.dataset.status));
  }

  function schedulePoll(delay = pollIntervalMs) {
    if (pollTimer === null && needsPolling()) pollTimer = setTimeout(poll, delay);
  }

  // Poll the first page only; when it changed and more pages are shown, those
  // are read again too (a task may have moved between pages).
  async function poll() {
    const changesBefore = localChanges;
    let delay = pollIntervalMs;
    try {
      const first = await fetchPage(firstPageUrl());
      if (!first) return;
      if (changesBefore !== localChanges) delay = 0;
      else if (first.body !== firstPageBody) {
        const shown = pagesShown > 1 ? await fetchPages(pagesShown) : { firstBody: first.body, tasks: first.tasks,
                                                                         next: first.next, pages: 1 };
        if (shown && changesBefore === localChanges) applyShown(shown);
        else delay = 0;
      }
    } catch (error) {
      delay = POLL_BACKOFF_MS;
    } finally {
      pollTimer = null;
    }
    schedulePoll(delay);
  }

  loadMore.addEventListener("click", async () => {
    if (!nextUrl) return;
    const changesBefore = localChanges;
    loadMore.disabled = true;
    try {
      const page = await fetchPage(nextUrl);
      if (!page || changesBefore !== localChanges) return;
      for (const task of page.tasks) {
        if (rows.querySelector(`tr[data-task-id="${task.id}"]`)) continue;
        rows.append(renderRow(task));
      }
      pagesShown += 1;
      localChanges += 1; // a poll under way read fewer pages: let it read again
      showNext(page.next);
      refreshSummary();
      schedulePoll();
    } catch (error) {
      toast("Could not load more files. Try again.", "error");
    } finally {
      loadMore.disabled = false;
    }
  });

  // A filter starts again from the first page.
  async function reloadFromFirstPage() {
    localChanges += 1;
    const changesBefore = localChanges;
    try {
      const shown = await fetchPages(1);
      if (shown && changesBefore === localChanges) {
        applyShown(shown);
        schedulePoll();
      }
    } catch (error) {
      toast("Could not load your files. Try again.", "error");
    }
  }

  let searchTimer = null;
  statusFilter.addEventListener("change", reloadFromFirstPage);
  searchFilter.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(reloadFromFirstPage, SEARCH_DEBOUNCE_MS);
  });
  document.getElementById("task-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    reloadFromFirstPage();
  });

  setInterval(() => {
    for (const time of rows.querySelectorAll("time[datetime], [data-datetime]")) {
      time.textContent = relativeTime(time.getAttribute("datetime") || time.dataset.datetime);
    }
  }, RELATIVE_TIME_REFRESH_MS);

  // --- deletion, confirmed in a dialog ---

  let pendingDelete = null;

  rows.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="delete"]');
    if (!button) return;
    pendingDelete = button.closest("tr");
    deleteName.textContent = pendingDelete.querySelector(".task__name").textContent;
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", () => {
    const row = pendingDelete;
    pendingDelete = null;
    if (!row) return;
    if (dialog.returnValue === "delete") deleteTask(row);
    else row.querySelector('button[data-action="delete"]')?.focus();
  });

  async function deleteTask(row) {
    const name = row.querySelector(".task__name").textContent;
    const neighbour = row.nextElementSibling || row.previousElementSibling;
    try {
      const response = await fetch(`${uploadUrl}/${row.dataset.taskId}`, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken, Accept: "application/json" },
      });
      if (response.status === 401) {
        window.location.assign(loginUrl);
        return;
      }
      if (response.status !== 204 && response.status !== 404) {
        toast(await errorMessage(response), "error");
        return;
      }
    } catch (error) {
      toast("Could not reach the server; the task was not deleted.", "error");
      return;
    }
    localChanges += 1;
    row.remove();
    refreshSummary();
    toast(`Deleted ${name}.`);
    (neighbour?.querySelector('button[data-action="delete"]') || document.getElementById("tasks-title")).focus();
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body?.error?.message) return sentence(body.error.message);
    } catch (error) {
      // not JSON: fall through to the status line
    }
    return `The server answered ${response.status} ${response.statusText}.`;
  }

  function sentence(text) {
    const trimmed = text.trim();
    return trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + (trimmed.endsWith(".") ? "" : ".");
  }

  // --- choosing files ---

  let entries = []; // {file, item, progress, stateText, remove, state}
  let batchItems = []; // the list items of "one archive" uploads
  let uploadsRunning = 0;

  function setEntryState(entry, state, message) {
    entry.state = state;
    entry.item.dataset.state = state;
    entry.stateText.textContent = message;
    entry.remove.hidden = !(state === "ready" || state === "error");
  }

  // A list item with a name, a size, a Remove button, a progress bar and a state line.
  function uploadItem(name, size, label) {
    const progress = el("progress", { max: "100", value: "0", "aria-label": `Upload of ${label}` });
    progress.hidden = true;
    const remove = el("button", { type: "button", className: "button button--small button--ghost upload-item__remove" },
      "Remove", hidden(` ${name}`));
    const stateText = el("p", { className: "upload-item__state" });
    const item = el(
      "li",
      { className: "upload-item", "data-name": name },
      el("span", { className: "upload-item__name", title: name }, name),
      el("span", { className: "upload-item__size" }, fileSize(size)),
      remove,
      progress,
      stateText,
    );
    return { item, progress, stateText, remove, state: "ready" };
  }

  function addFiles(files) {
    entries = entries.filter((entry) => {
      const finished = entry.state === "done" || entry.state === "error";
      if (finished) entry.item.remove();
      return !finished;
    });
    batchItems = batchItems.filter((batch) => {
      const finished = batch.state === "done" || batch.state === "error";
      if (finished) batch.item.remove();
      return !finished;
    });
    for (const file of files) {
      const entry = { file, ...uploadItem(file.name, file.size, file.name) };
      entry.remove.addEventListener("click", () => {
        entries = entries.filter((other) => other !== entry);
        entry.item.remove();
        updateUploadButton();
        fileInput.focus();
      });
      uploadList.append(entry.item);
      entries.push(entry);
      if (file.size > maxResumableBytes) {
        setEntryState(entry, "error", `Too large: files can be at most ${fileSize(maxResumableBytes)}. It was not uploaded.`);
      } else {
        setEntryState(entry, "ready", "Ready to compress.");
      }
    }
    updateUploadButton();
  }

  function readyEntries() {
    return entries.filter((entry) => entry.state === "ready");
  }

  // Why the ready files cannot go as one archive, or "" when they can.
  function batchProblem(ready) {
    if (!oneArchive.checked || ready.length < 2) return "";
    const total = ready.reduce((sum, entry) => sum + entry.file.size, 0);
    const limit = maxUploadBytes - MULTIPART_OVERHEAD_BYTES;
    if (total > limit) {
      return `Together these files are ${fileSize(total)}; one archive can take at most ${fileSize(limit)} in all. ` +
        "Untick “One archive for all files” to compress them one by one (big files then upload in resumable chunks), or remove some.";
    }
    if (ready.length > maxFilesPerTask) {
      return `One archive can hold at most ${maxFilesPerTask} files; ${ready.length} are chosen. Remove some, or untick “One archive for all files”.`;
    }
    return "";
  }

  function updateUploadButton() {
    const ready = readyEntries();
    const count = ready.length;
    const problem = batchProblem(ready);
    batchError.textContent = problem;
    batchError.hidden = problem === "";
    uploadButton.disabled = count === 0 || problem !== "";
    if (count > 1 && oneArchive.checked) uploadButton.textContent = `Compress ${count} files into one archive`;
    else uploadButton.textContent = count > 1 ? `Compress ${count} files` : "Compress";
  }

  oneArchive.addEventListener("change", updateUploadButton);

  fileInput.addEventListener("change", () => {
    addFiles([...fileInput.files]);
    fileInput.value = "";
  });

  function hasFiles(event) {
    return [...(event.dataTransfer?.types || [])].includes("Files");
  }

  let dragDepth = 0;
  dropzone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    dropzone.classList.add("dropzone--over");
  });
  dropzone.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropzone.classList.remove("dropzone--over");
  });
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dropzone--over");
    addFiles([...event.dataTransfer.files]);
  });
  // A file dropped beside the drop zone must not replace the page.
  for (const type of ["dragover", "drop"]) {
    document.addEventListener(type, (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
  }

  // --- options: the level range, what the speed means, the password ---

  function showFormatOptions() {
    const option = formatSelect.selectedOptions[0];
    levelInput.min = option.dataset.low;
    levelInput.max = option.dataset.high;
    levelHint.textContent = `${option.dataset.low}–${option.dataset.high}; higher is smaller but slower. Overrides Speed.`;
    presetHint.textContent = `Level ${option.dataset[presetSelect.value]} for ${option.value}.`;
    const encryptable = option.hasAttribute("data-encryptable");
    passwordInput.disabled = !encryptable;
    passwordHint.textContent = encryptable
      ? "AES-256; never stored — keep it safe."
      : `AES-256; never stored — keep it safe. zip and 7z only, not ${option.value}.`;
  }
  formatSelect.addEventListener("change", showFormatOptions);
  presetSelect.addEventListener("change", showFormatOptions);
  showFormatOptions();

  // The fields every upload sends: a typed level wins over the speed preset.
  function taskOptions() {
    const level = levelInput.value.trim();
    return {
      format: formatSelect.value,
      level: level !== "" ? level : presetSelect.value,
      password: passwordInput.disabled ? "" : passwordInput.value,
      retentionHours: retentionSelect.value,
    };
  }

  function appendOptions(data, options) {
    data.append("newFormat", options.format);
    if (options.level !== "") data.append("level", options.level);
    if (options.password !== "") data.append("password", options.password);
    if (options.retentionHours !== "") data.append("retentionHours", options.retentionHours);
  }

  // --- uploading: one POST /api/tasks per file, or one for all, each with a progress bar ---

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const batch = readyEntries();
    if (batch.length === 0) return;
    const problem = batchProblem(batch);
    if (problem) {
      updateUploadButton();
      batchError.focus();
      return;
    }
    const options = taskOptions();
    if (oneArchive.checked && batch.length > 1) {
      uploadTogether(batch, options);
      return;
    }
    for (const entry of batch) setEntryState(entry, "waiting", "Waiting to upload…");
    updateUploadButton();
    let next = 0;
    const runNext = () => {
      if (next >= batch.length) return Promise.resolve();
      const entry = batch[next];
      next += 1;
      return upload(entry, options).then(runNext);
    };
    for (let lane = 0; lane < UPLOAD_CONCURRENCY; lane += 1) runNext();
  });

  function setProgress(entry, fraction) {
    const percent = Math.min(100, Math.round(fraction * 100));
    entry.progress.value = percent;
    entry.stateText.textContent = `Uploading… ${percent}%`;
  }

  function taskCreated(entry, body) {
    entry.progress.value = 100;
    setEntryState(entry, "done", "Uploaded ✓ Compressing; follow it in the list below.");
    localChanges += 1;
    addTask(body);
    schedulePoll();
  }

  function uploadFailed(entry, status, body) {
    if (status === 401) {
      setEntryState(entry, "error", "Your session has expired. Log in again, then retry.");
      return;
    }
    const message = body?.error?.message ? sentence(body.error.message) : `The server answered ${status}.`;
    setEntryState(entry, "error", status === 413 ? `Too large: ${message}` : message);
  }

  // One multipart POST with every file of ``members`` as a ``fileName`` part;
  // resolves {status, body} (status 0: the request did not finish).
  function postFiles(members, options, progressEntry) {
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("POST", uploadUrl);
      request.responseType = "json";
      request.setRequestHeader("X-CSRF-Token", csrfToken);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (progress) => {
        if (progress.lengthComputable) setProgress(progressEntry, progress.loaded / progress.total);
      });
      request.upload.addEventListener("load", () => {
        setProgress(progressEntry, 1);
        progressEntry.stateText.textContent = "Uploaded, saving…";
      });
      request.addEventListener("load", () => resolve({ status: request.status, body: request.response }));
      for (const failure of ["error", "abort", "timeout"]) {
        request.addEventListener(failure, () => resolve({ status: 0, body: null }));
      }
      const data = new FormData();
      for (const entry of members) data.append("fileName", entry.file, entry.file.name);
      appendOptions(data, options);
      progressEntry.progress.hidden = false;
      setProgress(progressEntry, 0);
      request.send(data);
    });
  }

  // Files above the threshold (read at each upload) go in resumable chunks.
  async function upload(entry, options) {
    const threshold = Number(root.dataset.resumableThresholdBytes);
    if (sessionsUrl && window.comprimemeloUploads && entry.file.size > threshold) {
      return uploadResumable(entry, options);
    }
    uploadsRunning += 1;
    const answer = await postFiles([entry], options, entry);
    uploadsRunning -= 1;
    if (answer.status === 201 && answer.body) taskCreated(entry, answer.body);
    else if (answer.status === 0) setEntryState(entry, "error", "The upload did not finish (network error). Please try again.");
    else uploadFailed(entry, answer.status, answer.body);
  }

  // "One archive for all files": one request, one progress bar for the lot.
  async function uploadTogether(members, options) {
    const total = members.reduce((sum, entry) => sum + entry.file.size, 0);
    const label = `One archive of ${members.length} files`;
    const batch = uploadItem(label, total, label);
    batch.remove.hidden = true;
    batch.item.classList.add("upload-item--batch");
    batchItems.push(batch);
    uploadList.append(batch.item);
    for (const entry of members) setEntryState(entry, "waiting", "Going into one archive with the others.");
    setEntryState(batch, "waiting", "Waiting to upload…");
    updateUploadButton();
    uploadsRunning += 1;
    const answer = await postFiles(members, options, batch);
    uploadsRunning -= 1;
    if (answer.status === 201 && answer.body) {
      taskCreated(batch, answer.body);
      for (const entry of members) setEntryState(entry, "done", "Uploaded ✓ in one archive with the others.");
      return;
    }
    if (answer.status === 0) setEntryState(batch, "error", "The upload did not finish (network error). Please try again.");
    else uploadFailed(batch, answer.status, answer.body);
    for (const entry of members) setEntryState(entry, "ready", "Not uploaded: see the archive's message below.");
    updateUploadButton();
  }

  async function uploadResumable(entry, options) {
    uploadsRunning += 1;
    entry.progress.hidden = false;
    const answer = await window.comprimemeloUploads.resumable(entry.file, {
      sessionsUrl,
      csrfToken,
      ...options,
      onProgress: (fraction) => setProgress(entry, fraction),
      onUploaded: () => {
        setProgress(entry, 1);
        entry.stateText.textContent = "Uploaded, saving…";
      },
    });
    uploadsRunning -= 1;
    if (answer.status === 201 && answer.body) {
      taskCreated(entry, answer.body);
    } else if (answer.resumable) {
      setEntryState(entry, "ready", `The upload stopped at ${entry.progress.value}%. Choose Compress to resume where it stopped.`);
      updateUploadButton();
    } else {
      uploadFailed(entry, answer.status, answer.body);
    }
  }

  window.addEventListener("beforeunload", (event) => {
    if (uploadsRunning > 0) event.preventDefault();
  });

  // --- notifications: GET and PUT /api/notifications, loaded when opened ---

  const notifications = document.getElementById("notifications");
  const notificationsForm = document.getElementById("notifications-form");
  const notificationsState = document.getElementById("notifications-state");
  const notifyEmail = document.getElementById("notify-email");
  const webhookUrl = document.getElementById("webhook-url");
  const webhookDisabled = document.getElementById("webhook-disabled");
  const secretBox = document.getElementById("webhook-secret-box");
  const secretValue = document.getElementById("webhook-secret");
  const secretCopy = document.getElementById("webhook-secret-copy");
  const secretNew = document.getElementById("webhook-secret-new");
  const notificationsSave = document.getElementById("notifications-save");
  const notificationsUrl = root.dataset.notificationsUrl;
  const webhookSecretUrl = root.dataset.webhookSecretUrl;
  let notificationsLoaded = false;

  function showNotificationSettings(settings) {
    notifyEmail.checked = settings.email;
    webhookUrl.value = settings.webhook_url || "";
    webhookDisabled.hidden = !settings.webhook_disabled;
    webhookDisabled.textContent = settings.webhook_disabled
      ? `The webhook is disabled: ${settings.webhook_disabled_reason || "it kept failing"}. Save it again to turn it back on.`
      : "";
    secretNew.hidden = !settings.webhook_url;
    if (settings.webhook_secret) showSecret(settings.webhook_secret);
    for (const control of [notifyEmail, webhookUrl, notificationsSave]) control.disabled = false;
  }

  function showSecret(secret) {
    secretValue.textContent = secret;
    secretBox.hidden = false;
    secretCopy.focus();
  }

  async function notificationsCall(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      window.location.assign(loginUrl);
      return null;
    }
    if (!response.ok) throw new Error(await errorMessage(response));
    return response.json();
  }

  notifications.addEventListener("toggle", async () => {
    if (!notifications.open || notificationsLoaded) return;
    try {
      const settings = await notificationsCall("GET", notificationsUrl);
      if (!settings) return;
      notificationsLoaded = true;
      showNotificationSettings(settings);
      notificationsState.textContent = "";
    } catch (error) {
      notificationsState.textContent = `Could not load your settings: ${error.message}`;
    }
  });

  notificationsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!notificationsForm.reportValidity()) return;
    const url = webhookUrl.value.trim();
    notificationsSave.disabled = true;
    notificationsState.textContent = "Saving…";
    try {
      const settings = await notificationsCall("PUT", notificationsUrl, {
        email: notifyEmail.checked,
        webhook_url: url === "" ? null : url,
      });
      if (!settings) return;
      showNotificationSettings(settings);
      notificationsState.textContent = "Saved ✓";
    } catch (error) {
      notificationsState.textContent = error.message;
      webhookUrl.focus();
    } finally {
      notificationsSave.disabled = false;
    }
  });

  secretNew.addEventListener("click", async () => {
    try {
      const answer = await notificationsCall("POST", webhookSecretUrl);
      if (answer) showSecret(answer.webhook_secret);
      notificationsState.textContent = "New signing secret made; the previous one no longer signs.";
    } catch (error) {
      notificationsState.textContent = error.message;
    }
  });

  secretCopy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secretValue.textContent);
      toast("Secret copied.");
    } catch (error) {
      window.getSelection().selectAllChildren(secretValue); // no clipboard access: select it for Ctrl-C
    }
  });

  refreshSummary();
  schedulePoll();
  // --- account: a new confirmation link for the address ---

  const sendVerification = document.getElementById("send-verification");
  const verificationState = document.getElementById("verification-state");
  sendVerification?.addEventListener("click", async () => {
    sendVerification.disabled = true;
    verificationState.textContent = "Sending…";
    try {
      const response = await fetch(sendVerification.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrfToken },
      });
      verificationState.textContent = response.ok
        ? "Sent: open the link in the mail to confirm your address."
        : await errorMessage(response);
    } catch (error) {
      verificationState.textContent = "Could not send the link; try again.";
    } finally {
      sendVerification.disabled = false;
    }
  });
})();
