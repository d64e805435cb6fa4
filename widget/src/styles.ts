/** The widget's CSS, inside its Shadow DOM: the store's styles do not reach it, nor it theirs. */

export const STYLES = `
:host { all: initial; --accent: #1d4ed8; --accent-text: #fff; font: 15px/1.45 system-ui, sans-serif; color: #1f2937; }
* { box-sizing: border-box; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
button, select, textarea { font: inherit; }
button { cursor: pointer; border-radius: 8px; border: 1px solid #9ca3af; background: #fff; color: #1f2937; padding: 6px 10px; min-height: 36px; }
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; background: var(--accent); color: var(--accent-text); border: 0; border-radius: 999px; padding: 12px 18px; box-shadow: 0 4px 14px rgba(0,0,0,.25); font-weight: 600; }
.left .launcher { right: auto; left: 20px; }
.panel { position: fixed; bottom: 84px; right: 20px; z-index: 2147483001; width: 380px; max-height: min(620px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff; border-radius: 14px; box-shadow: 0 10px 40px rgba(0,0,0,.3); overflow: hidden; }
.left .panel { right: auto; left: 20px; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 10px 12px; background: var(--accent); color: var(--accent-text); }
header h2 { flex: 1; margin: 0; font-size: 16px; }
header button { background: transparent; color: var(--accent-text); border-color: rgba(255,255,255,.6); }
.log { margin: 0; padding: 12px; overflow-y: auto; flex: 1; display: flex; flex-direction: column; gap: 10px; }
.msg { max-width: 88%; padding: 8px 11px; border-radius: 12px; background: #f3f4f6; white-space: pre-wrap; word-wrap: break-word; }
.msg.user { align-self: flex-end; background: var(--accent); color: var(--accent-text); }
.msg.note { align-self: center; background: #ecfdf5; color: #065f46; font-size: 14px; }
.msg p { margin: 0; }
.msg .error { color: #991b1b; }
.sources { margin: 6px 0 0; padding-left: 20px; font-size: 13px; }
.sources a { color: #1e40af; }
.rate { display: flex; gap: 6px; margin-top: 6px; }
.rate button { display: inline-flex; align-items: center; gap: 5px; padding: 2px 8px; min-height: 32px; font-size: 13px; }
.rate button[aria-pressed="true"] { background: #dbeafe; border-color: #1e40af; }
form.feedback, form.person-form { display: flex; flex-direction: column; gap: 6px; margin-top: 6px; }
form.person-form { padding: 10px 12px; border-top: 1px solid #e5e7eb; }
form.person-form[hidden] { display: none; }
label { font-size: 13px; font-weight: 600; }
select, textarea { width: 100%; border: 1px solid #6b7280; border-radius: 8px; padding: 6px 8px; background: #fff; color: #1f2937; }
.row { display: flex; gap: 6px; }
.status { margin: 0; padding: 0 12px; min-height: 1.3em; font-size: 13px; color: #4b5563; }
.composer { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid #e5e7eb; }
.composer textarea { resize: none; min-height: 40px; }
footer { display: flex; justify-content: space-between; padding: 0 12px 10px; }
@media (max-width: 480px) {
  .panel, .left .panel { inset: 0; width: 100%; max-height: none; height: 100%; border-radius: 0; }
  .launcher, .left .launcher { bottom: 12px; right: 12px; left: auto; }
}
`;
