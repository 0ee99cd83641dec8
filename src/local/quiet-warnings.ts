/**
 * Turns off the AWS SDK's NodeVersionSupportWarning ("versions published after January 2027 will require
 * Node 22"), printed whenever a client is created under Node 20: it is not the user's concern. Uses the SDK's
 * own switch; a user who sets the variable explicitly keeps their choice.
 */
export function silenceNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
