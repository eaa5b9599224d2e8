-- Argo CD health check for ecs.kubefargate.dev/FargateProfile (ecs-controller).
-- Reads the conditions the controller writes (Ready, Reconciling, Stalled; kstatus conventions).
-- The same logic is repeated for every kind; tests/tests/e2e/argocd.rs runs it on testdata/.
local hs = {}

local function condition(type)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == type then return c end
  end
  return nil
end

-- "Reason: message", or whichever of the two is set.
local function describe(c)
  local msg = c.message or ""
  if c.reason == nil or c.reason == "" then return msg end
  if msg == "" then return c.reason end
  return c.reason .. ": " .. msg
end

-- Nothing to judge until the controller has answered the current generation.
local gen = obj.metadata.generation
local ready = obj.status ~= nil and condition("Ready") or nil
if ready == nil or (gen ~= nil and ((obj.status.observedGeneration or 0) < gen
    or (ready.observedGeneration ~= nil and ready.observedGeneration < gen))) then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. (gen or "?")
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message ~= "" and ready.message or describe(ready)
elseif ready.status == "False" then
  -- Reconciling=True: waiting (dependency, rollout, retry); otherwise an error without a retry.
  local reconciling = condition("Reconciling")
  hs.status = (reconciling ~= nil and reconciling.status == "True") and "Progressing" or "Degraded"
  hs.message = describe(ready)
else
  hs.status = "Progressing"
  hs.message = describe(ready)
end
return hs
