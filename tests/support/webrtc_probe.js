// Injected before a page's own scripts (Playwright add_init_script): watches the page's WebRTC
// from outside its code. window.__probe holds
//   levels: the RMS of each remote audio track, every 40 ms, from an AnalyserNode of its own,
//           stamped with the page's document.body.dataset.state at that moment;
//   pairs / candidates: the last getStats() candidate pairs and candidates while connected;
//   peers / micTracks: every RTCPeerConnection and getUserMedia track the page made;
//   holdAnswers / release(): with holdAnswers set, the answer to the next POST .../realtime/calls
//           reaches the page only when release() is called (<html data-probe-held> meanwhile:
//           the page's Content-Security-Policy forbids Playwright's wait_for_function).
(() => {
  const probe = (window.__probe = { levels: [], pairs: [], candidates: [], peers: [], micTracks: [] });
  const SAMPLE_MS = 40;
  const STATS_MS = 200;

  const fetch = window.fetch.bind(window);
  probe.holdAnswers = false;
  probe.held = null;
  probe.release = () => {
    probe.holdAnswers = false;
    delete document.documentElement.dataset.probeHeld;
    probe.held();
  };
  window.fetch = async (resource, options) => {
    const response = await fetch(resource, options);
    if (probe.holdAnswers && String(resource).endsWith("/realtime/calls")) {
      await new Promise((resolve) => {
        probe.held = resolve;
        document.documentElement.dataset.probeHeld = "";
      });
    }
    return response;
  };

  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    probe.micTracks.push(...stream.getTracks());
    return stream;
  };

  function listen(track) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      if (track.readyState === "ended") {
        clearInterval(timer);
        context.close();
        return;
      }
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      probe.levels.push({ rms: Math.sqrt(sum / samples.length), state: document.body.dataset.state });
    }, SAMPLE_MS);
  }

  async function snapshot(pc) {
    const pairs = [];
    const candidates = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type === "candidate-pair") {
        pairs.push({ state: s.state, nominated: s.nominated, local: s.localCandidateId, remote: s.remoteCandidateId });
      } else if (s.type === "local-candidate" || s.type === "remote-candidate") {
        candidates[s.id] = { kind: s.type, address: s.address, protocol: s.protocol };
      }
    });
    probe.pairs = pairs;
    probe.candidates = candidates;
  }

  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      probe.peers.push(this);
      this.addEventListener("track", (event) => listen(event.track));
      const timer = setInterval(() => {
        if (this.connectionState === "closed") clearInterval(timer);
        else if (this.connectionState === "connected") snapshot(this).catch(() => {});
      }, STATS_MS);
    }
  };
})();
