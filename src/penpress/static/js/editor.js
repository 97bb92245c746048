// The post editor, enhanced: a Preview tab rendered by the server, drafts that save
// themselves, images uploaded from a button, a drop or a paste, and a question before leaving
// with unsaved changes. The page works without this file (its Preview button posts the form).
// Runs under the site's Content-Security-Policy: no inline script or style, no eval.
(function () {
  "use strict";

  var form = document.querySelector("[data-editor-form]");
  if (!form) {
    return;
  }
  var root = form.closest("[data-editor]") || document.body;
  var body = form.elements.namedItem("body");
  var statusBox = form.querySelector("[data-editor-status]");
  var noticeBox = root.querySelector("[data-editor-notice]");
  var versionInput = form.elements.namedItem("version");
  var csrfInput = form.elements.namedItem("csrf_token");

  var FIELDS = ["title", "summary", "body", "tags", "featured_image", "featured_image_alt",
    "meta_title", "meta_description"];
  var STORAGE_KEY = "penpress:draft:" + form.getAttribute("data-draft-key");
  var SUBMITTED_KEY = "penpress:submitted-draft";
  var AUTOSAVE_DELAY = 1500;
  var LOCAL_DELAY = 300;
  var RETRY_DELAY = 15000;
  var IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"];

  var resubmitted = root.hasAttribute("data-submitted");
  // A page that came back from a submission (errors, or a post changed elsewhere) waits for
  // the writer to press Save: saving by itself could replace what the page just warned about.
  var autosaveUrl = resubmitted ? null : form.getAttribute("data-autosave-url");
  var previewUrl = form.getAttribute("data-preview-url");
  var uploadUrl = form.getAttribute("data-upload-url");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var postId = form.getAttribute("data-post-id");
  var published = form.hasAttribute("data-published");

  // --- the form's values ----------------------------------------------------------------

  function fieldValue(name) {
    if (name === "featured_image") {
      var checked = form.querySelector("input[name=featured_image]:checked");
      return checked ? checked.value : "";
    }
    var field = form.elements.namedItem(name);
    return field && typeof field.value === "string" ? field.value : "";
  }

  function currentValues() {
    var values = {};
    FIELDS.forEach(function (name) {
      values[name] = fieldValue(name);
    });
    return values;
  }

  function setValues(values) {
    FIELDS.forEach(function (name) {
      if (typeof values[name] !== "string") {
        return;
      }
      if (name === "featured_image") {
        form.querySelectorAll("input[name=featured_image]").forEach(function (radio) {
          radio.checked = radio.value === values[name];
        });
        return;
      }
      var field = form.elements.namedItem(name);
      if (field && typeof field.value === "string") {
        field.value = values[name];
      }
    });
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function version() {
    return versionInput ? versionInput.value : null;
  }

  function timeOf(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // What the server has: the page's values when it was opened (unless it came back from a
  // submission that did not save), then each autosave's.
  var serverValues = resubmitted ? null : currentValues();
  var submitting = false;

  function isDirty() {
    return serverValues === null || !same(currentValues(), serverValues);
  }

  // --- status and notices ---------------------------------------------------------------

  function setStatus(text, state) {
    if (!statusBox) {
      return;
    }
    statusBox.textContent = text;
    statusBox.setAttribute("data-state", state || "");
  }

  function showNotice(text, actions) {
    if (!noticeBox) {
      return;
    }
    noticeBox.textContent = "";
    var message = document.createElement("p");
    message.textContent = text;
    noticeBox.appendChild(message);
    (actions || []).forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button-small";
      button.textContent = action.label;
      button.addEventListener("click", function () {
        action.run();
        hideNotice();
      });
      noticeBox.appendChild(button);
    });
    noticeBox.setAttribute("role", "status");
    noticeBox.hidden = false;
  }

  function hideNotice() {
    if (noticeBox) {
      noticeBox.hidden = true;
      noticeBox.textContent = "";
    }
  }

  // --- the copy kept in this browser ----------------------------------------------------

  function readLocal() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      return stored && stored.values ? stored : null;
    } catch (error) {
      return null;
    }
  }

  function writeLocal() {
    try {
      if (isDirty()) {
        window.localStorage.setItem(STORAGE_KEY, JSON.stringify({
          values: currentValues(), at: Date.now(), base: version()
        }));
      } else {
        window.localStorage.removeItem(STORAGE_KEY);
      }
    } catch (error) {
      // Storage full or disabled: the server copy (or the form) is all there is.
    }
  }

  function forgetLocal() {
    try {
      window.localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      // nothing kept
    }
  }

  function restoreFromBrowser() {
    try {
      window.sessionStorage.removeItem(SUBMITTED_KEY);  // this page came back: keep the copy
    } catch (error) {
      // no session storage
    }
    var stored = readLocal();
    if (!stored) {
      return;
    }
    var here = currentValues();
    if (same(stored.values, here)) {
      return;
    }
    // An upload that never finished left its placeholder: it is not text anyone wrote.
    if (typeof stored.values.body === "string") {
      stored.values.body = stored.values.body.replace(/!\[Uploading [^\]\n]*…\]\(\)\n?/g, "");
    }
    if (same(stored.values, here)) {
      forgetLocal();
      return;
    }
    var when = timeOf(new Date(stored.at));
    var opened = here;
    var restore = function () {
      setValues(stored.values);
      changed();
    };
    var discard = function () {
      setValues(opened);
      forgetLocal();
      changed();
    };
    if (!resubmitted && (stored.base || null) === (version() || null)) {
      restore();
      showNotice("Restored the unsaved text you wrote at " + when + ".", [
        { label: "Discard it", run: discard }
      ]);
    } else {
      showNotice("This browser kept text you wrote at " + when +
        " that differs from what is shown.", [
        { label: "Restore it", run: restore },
        { label: "Discard it", run: forgetLocal }
      ]);
    }
  }

  // --- requests -------------------------------------------------------------------------

  function send(url, init) {
    init.credentials = "same-origin";
    init.headers = init.headers || {};
    init.headers["X-CSRFToken"] = csrfInput ? csrfInput.value : "";
    init.headers.Accept = "application/json";
    return window.fetch(url, init).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        return { status: response.status, data: data, response: response };
      });
    });
  }

  function sendJson(url, payload) {
    return send(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload)
    });
  }

  function errorMessage(result) {
    var error = result.data && result.data.error;
    if (!error) {
      return "Something went wrong (" + result.status + ").";
    }
    // A field's own message says most (422); a conflict's details carry data, not words.
    var details = result.status === 422 && error.details ? error.details : {};
    var first = Object.keys(details)[0];
    return first && details[first].length ? details[first][0] : error.message;
  }

  // --- autosave -------------------------------------------------------------------------

  var timer = null;
  var inFlight = null;
  var conflicted = false;
  var afterSave = [];

  function scheduleSave(delay) {
    if (!autosaveUrl || conflicted) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(saveNow, delay);
  }

  function whenIdle(callback) {
    if (inFlight) {
      afterSave.push(callback);
    } else {
      callback();
    }
  }

  function finished() {
    inFlight = null;
    var waiting = afterSave;
    afterSave = [];
    waiting.forEach(function (callback) {
      callback();
    });
  }

  function saveNow() {
    window.clearTimeout(timer);
    if (!autosaveUrl || conflicted || submitting || !isDirty()) {
      return;
    }
    if (inFlight) {
      afterSave.push(function () {
        scheduleSave(0);
      });
      return;
    }
    if (navigator.onLine === false) {
      setStatus("Offline — not saved. Your text is kept in this browser.", "offline");
      return;
    }
    var values = currentValues();
    var payload = Object.assign({ version: version() }, values);
    setStatus("Saving…", "saving");
    inFlight = sendJson(autosaveUrl, payload).then(function (result) {
      if (result.status === 200) {
        if (versionInput) {
          versionInput.value = result.data.version;
        }
        serverValues = values;
        writeLocal();
        setStatus("Saved at " + timeOf(new Date(result.data.saved_at)) + ".", "saved");
        if (isDirty()) {
          scheduleSave(AUTOSAVE_DELAY);
        }
      } else if (result.status === 409) {
        conflicted = true;
        setStatus(errorMessage(result) + " Your text here is kept in this browser.", "error");
      } else if (result.status === 429) {
        var wait = parseInt(result.response.headers.get("Retry-After"), 10) || 30;
        setStatus("Not saved yet: too many saves. Trying again in " + wait + " s.", "error");
        scheduleSave(wait * 1000);
      } else if (result.status === 401 || result.status === 403) {
        setStatus("Not saved: you are no longer logged in. Log in in another tab, then keep " +
          "typing; your text is kept in this browser.", "error");
      } else {
        setStatus("Not saved: " + errorMessage(result), "error");
      }
    }).catch(function () {
      setStatus("Offline — not saved. Your text is kept in this browser; saving resumes " +
        "when the connection is back.", "offline");
      scheduleSave(RETRY_DELAY);
    }).then(finished);
  }

  window.addEventListener("online", function () {
    scheduleSave(0);
  });

  // --- every change -----------------------------------------------------------------------

  var localTimer = null;

  function changed() {
    window.clearTimeout(localTimer);
    localTimer = window.setTimeout(writeLocal, LOCAL_DELAY);
    if (!isDirty()) {
      return;
    }
    if (autosaveUrl) {
      scheduleSave(AUTOSAVE_DELAY);
    } else if (published || postId) {
      setStatus("Unsaved changes, kept in this browser until you press Save changes.", "local");
    } else {
      setStatus("Not saved yet: kept in this browser until you press Save.", "local");
    }
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

  // Logging out forgets every copy kept in this browser (static/js/main.js): none is written
  // again on the way out.
  var loggingOut = false;
  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (target instanceof HTMLFormElement && /\/auth\/logout$/.test(target.action)) {
      loggingOut = true;
    }
  }, true);

  // Leaving with changes the server does not have asks first; the last key presses are kept.
  window.addEventListener("beforeunload", function (event) {
    if (submitting || !isDirty()) {
      return undefined;
    }
    if (!loggingOut) {
      writeLocal();
    }
    event.preventDefault();
    event.returnValue = "";
    return "";
  });

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-preview-button") && previewUrl) {
      event.preventDefault();
      selectTab("preview", true);
      return;
    }
    if (inFlight) {
      // An autosave would move the version this form carries: submit once it is done.
      event.preventDefault();
      whenIdle(function () {
        form.requestSubmit(submitter || undefined);
      });
      return;
    }
    window.clearTimeout(timer);
    submitting = true;
    writeLocal();
    try {
      window.sessionStorage.setItem(SUBMITTED_KEY, STORAGE_KEY);
    } catch (error) {
      // without session storage the copy stays until the next save here
    }
  });

  // --- Preview tab ----------------------------------------------------------------------

  var tabList = form.querySelector("[data-editor-tabs]");
  var panels = {
    write: form.querySelector("[data-editor-panel=write]"),
    preview: form.querySelector("[data-editor-panel=preview]")
  };
  var tabs = {
    write: document.getElementById("tab-write"),
    preview: document.getElementById("tab-preview")
  };

  function renderPreview() {
    var panel = panels.preview;
    panel.setAttribute("aria-busy", "true");
    panel.textContent = "";
    var waiting = document.createElement("p");
    waiting.className = "page-help";
    waiting.textContent = "Rendering the preview…";
    panel.appendChild(waiting);
    var values = currentValues();
    var payload = {
      title: values.title,
      summary: values.summary,
      body: values.body,
      featured_image: values.featured_image,
      featured_image_alt: values.featured_image_alt
    };
    if (postId) {
      payload.post_id = parseInt(postId, 10);
    }
    return sendJson(previewUrl, payload).then(function (result) {
      if (result.status === 200) {
        // Rendered and sanitized by the server, exactly as a save would.
        panel.innerHTML = result.data.html;
      } else {
        waiting.textContent = "No preview: " + errorMessage(result);
      }
    }).catch(function () {
      waiting.textContent = "No preview: the server cannot be reached (offline?).";
    }).then(function () {
      panel.removeAttribute("aria-busy");
    });
  }

  function selectTab(name, focus) {
    Object.keys(tabs).forEach(function (key) {
      var selected = key === name;
      tabs[key].setAttribute("aria-selected", selected ? "true" : "false");
      tabs[key].tabIndex = selected ? 0 : -1;
      panels[key].hidden = !selected;
    });
    if (focus) {
      tabs[name].focus();
    }
    if (name === "preview") {
      renderPreview();
    }
  }

  if (tabList && previewUrl && panels.write && panels.preview) {
    tabList.hidden = false;
    panels.write.setAttribute("role", "tabpanel");
    panels.write.setAttribute("aria-labelledby", "tab-write");
    Object.keys(tabs).forEach(function (key) {
      tabs[key].addEventListener("click", function () {
        selectTab(key, false);
      });
    });
    tabList.addEventListener("keydown", function (event) {
      if (["ArrowLeft", "ArrowRight", "Home", "End"].indexOf(event.key) < 0) {
        return;
      }
      event.preventDefault();
      var next = tabs.preview.getAttribute("aria-selected") === "true" ? "write" : "preview";
      if (event.key === "Home") {
        next = "write";
      } else if (event.key === "End") {
        next = "preview";
      }
      selectTab(next, true);
    });
  }

  // --- images ---------------------------------------------------------------------------

  var uploadCount = 0;

  function checkFile(file) {
    if (IMAGE_TYPES.indexOf(file.type) < 0) {
      return "“" + (file.name || "The file") + "” is not a JPEG, PNG, WebP or GIF image.";
    }
    if (maxBytes && file.size > maxBytes) {
      return "“" + (file.name || "The image") + "” is larger than " +
        Math.round(maxBytes / 1024 / 1024) + " MB, the most you can upload.";
    }
    return null;
  }

  function upload(file) {
    var problem = checkFile(file);
    if (problem) {
      return Promise.reject(new Error(problem));
    }
    var data = new FormData();
    data.append("file", file, file.name || "pasted-image.png");
    return send(uploadUrl, { method: "POST", body: data }).catch(function () {
      throw new Error("The image was not uploaded: the server cannot be reached (offline?).");
    }).then(function (result) {
      if (result.status !== 201) {
        throw new Error("The image was not uploaded: " + errorMessage(result));
      }
      return result.data;
    });
  }

  function replaceText(find, replacement) {
    var at = body.value.indexOf(find);
    if (at < 0) {
      return;
    }
    var caret = body.selectionStart;
    body.value = body.value.slice(0, at) + replacement + body.value.slice(at + find.length);
    if (caret > at) {
      caret += replacement.length - find.length;
      body.setSelectionRange(caret, caret);
    }
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertImages(files) {
    Array.prototype.forEach.call(files, function (file) {
      uploadCount += 1;
      var placeholder = "![Uploading " + (file.name || "image") + " (" + uploadCount + ")…]()";
      var start = body.selectionStart;
      var end = body.selectionEnd;
      var before = body.value.slice(0, start);
      var gap = before && !/\n$/.test(before) ? "\n" : "";
      body.setRangeText(gap + placeholder + "\n", start, end, "end");
      body.dispatchEvent(new Event("input", { bubbles: true }));
      setStatus("Uploading " + (file.name || "the image") + "…", "saving");
      upload(file).then(function (uploaded) {
        replaceText(placeholder, uploaded.markdown);
        setStatus("Image uploaded: edit the text in ![…] to describe it.", "saved");
        addToLibrary(uploaded, false);
      }).catch(function (error) {
        replaceText(placeholder + "\n", "");
        replaceText(placeholder, "");
        setStatus(error.message, "error");
      });
    });
  }

  function imageFiles(list) {
    return Array.prototype.filter.call(list || [], function (file) {
      return file.type.indexOf("image/") === 0;
    });
  }

  if (uploadUrl && body) {
    var toolbar = form.querySelector("[data-editor-toolbar]");
    var picker = form.querySelector("[data-image-input]");
    var button = form.querySelector("[data-insert-image]");
    if (toolbar && picker && button) {
      toolbar.hidden = false;
      button.addEventListener("click", function () {
        picker.click();
      });
      picker.addEventListener("change", function (event) {
        event.stopPropagation();  // not a change of the post itself
        insertImages(picker.files);
        picker.value = "";
      });
      picker.addEventListener("input", function (event) {
        event.stopPropagation();
      });
    }
    body.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
        body.classList.add("is-dropping");
      }
    });
    body.addEventListener("dragleave", function () {
      body.classList.remove("is-dropping");
    });
    body.addEventListener("drop", function (event) {
      body.classList.remove("is-dropping");
      var files = imageFiles(event.dataTransfer && event.dataTransfer.files);
      if (files.length) {
        event.preventDefault();
        body.focus();
        insertImages(files);
      }
    });
    body.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      var files = imageFiles(data && data.files);
      // A picture alone (a screenshot): upload it. Text that comes with one pastes as text.
      if (files.length && !(data.getData("text/plain") || "").trim()) {
        event.preventDefault();
        insertImages(files);
      }
    });
  }

  // --- the featured image ---------------------------------------------------------------

  var choices = form.querySelector("[data-media-choices]");
  var featuredUpload = form.querySelector("[data-featured-upload]");

  function addToLibrary(uploaded, choose) {
    if (!choices) {
      return;
    }
    var id = "featured-image-" + uploaded.id;
    var radio = document.getElementById(id);
    if (!radio) {
      var item = document.createElement("li");
      item.className = "media-choice";
      radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "featured_image";
      radio.id = id;
      radio.value = String(uploaded.id);
      var label = document.createElement("label");
      label.htmlFor = id;
      var thumb = document.createElement("img");
      thumb.src = uploaded.thumbnail;
      thumb.alt = "";
      var name = document.createElement("span");
      name.className = "visually-hidden";
      name.textContent = (uploaded.name || "Image") + ", " + uploaded.width + " × " +
        uploaded.height;
      label.appendChild(thumb);
      label.appendChild(name);
      item.appendChild(radio);
      item.appendChild(label);
      var none = choices.querySelector(".media-choice-none");
      choices.insertBefore(item, none ? none.nextSibling : choices.firstChild);
    }
    if (choose) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  if (featuredUpload && uploadUrl) {
    featuredUpload.addEventListener("change", function (event) {
      event.stopPropagation();
      var file = featuredUpload.files && featuredUpload.files[0];
      if (!file) {
        return;
      }
      setStatus("Uploading " + file.name + "…", "saving");
      upload(file).then(function (uploaded) {
        featuredUpload.value = "";  // uploaded: the form does not send it again
        addToLibrary(uploaded, true);
        var alt = form.elements.namedItem("featured_image_alt");
        if (alt && !alt.value && uploaded.alt) {
          alt.value = uploaded.alt;
        }
        setStatus("Image uploaded and chosen as the featured image.", "saved");
        changed();
      }).catch(function (error) {
        featuredUpload.value = "";
        setStatus(error.message, "error");
      });
    });
  }

  // --- start ----------------------------------------------------------------------------

  restoreFromBrowser();
  if (resubmitted) {
    changed();
  }
})();
