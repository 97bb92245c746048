// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Ask before submitting forms that delete or deactivate something.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Collapse the main navigation behind a "Menu" button on narrow screens.
  function setUpNavToggle() {
    var button = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!button || !nav) {
      return;
    }
    button.hidden = false;
    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    }
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        button.focus();
      }
    });
  }

  // Let flash messages be dismissed.
  function setUpFlashes() {
    document.querySelectorAll(".flash").forEach(function (flash) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "flash-close";
      close.setAttribute("aria-label", "Dismiss message");
      close.textContent = "×";
      close.addEventListener("click", function () {
        flash.remove();
      });
      flash.appendChild(close);
    });
  }

  // The editor keeps unsaved text in this browser (static/js/editor.js). Once a save went
  // through (we are on another page than the editor), that copy is forgotten; logging out
  // forgets every copy, for the next person at this computer.
  var DRAFT_PREFIX = "penpress:draft:";
  var SUBMITTED_KEY = "penpress:submitted-draft";

  function forgetSavedDraft() {
    try {
      var key = window.sessionStorage.getItem(SUBMITTED_KEY);
      if (key && !document.querySelector("[data-editor]")) {
        window.sessionStorage.removeItem(SUBMITTED_KEY);
        window.localStorage.removeItem(key);
      }
    } catch (error) {
      // storage disabled: nothing was kept
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !/\/auth\/logout$/.test(form.action)) {
      return;
    }
    try {
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf(DRAFT_PREFIX) === 0) {
          window.localStorage.removeItem(key);
        }
      });
    } catch (error) {
      // storage disabled: nothing was kept
    }
  });

  function ready() {
    setUpNavToggle();
    setUpFlashes();
    forgetSavedDraft();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
