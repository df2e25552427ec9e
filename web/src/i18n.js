// Japanese first, English available. The choice is kept in localStorage
// (renkei.lang): it is no patient data, and survives logout.
const ja = {
  app: 'renkei 連携', lang: 'English', langLabel: '表示言語を英語に切り替え',
  login: 'ログイン', loginId: 'ログインID', password: 'パスワード', device: 'この端末の名前',
  loginBtn: 'ログイン', code: '確認コード（6桁）', codeHelp: '認証アプリに表示されている6桁のコード、または回復コード（xxxxx-xxxxx）',
  codeBtn: '確認', back: '戻る', logout: 'ログアウト', patients: '担当患者',
  area: '地域', myRole: '私の役割', lastPost: '最新の投稿', unread: '未読', unconfirmed: '未確認', none: 'なし',
  open: '開く', board: 'ボード', sheet: '連携シート', post: '投稿する', newer: '新しい投稿',
  older: 'さらに前の投稿を読む', noPosts: 'まだ投稿はありません', kind: '種類', visibility: '公開範囲',
  urgent: '至急', text: '本文', vitals: 'バイタル', send: '送信', sending: '送信中…',
  notSent: '未送信', notSentHelp: '接続が戻ると自動で送信されます', failed: '送信できませんでした',
  remove: '削除', photos: '写真', camera: 'カメラで撮る', library: '写真を選ぶ',
  confirm: '確認', confirmed: '確認済み', whoNot: '未確認の人', ackBy: '確認した人', ackNone: 'まだ誰も確認していません',
  allAcked: '全員が確認しました', amend: '訂正', retract: '取り消し', reason: '理由',
  amended: 'この投稿は訂正されました', amendOf: '訂正版（元の投稿 #%s）', retracted: 'この投稿は取り消されました',
  retraction: '取り消し（投稿 #%s）', photo: '写真', close: '閉じる', save: '保存',
  breakglass: '緊急閲覧（ブレークグラス）', bgHelp: '連携シートにない患者のボードを、緊急時に理由を記録して閲覧します（読み取りのみ・期限付き・チームに通知）。',
  patientCode: '患者コード', bgReason: '理由（10文字以上）', bgBtn: '緊急閲覧を開始', bgUntil: '閲覧できる期限: %s',
  locked: '画面をロックしました', lockedHelp: '続けるにはパスワードを入力してください。', unlock: 'ロック解除',
  offline: 'オフライン — 投稿は端末に保存され、接続が戻ると送信されます', online: '接続しました',
  reconnecting: '再接続しています…', sessionEnded: 'セッションが終了しました。もう一度ログインしてください。',
  outboxWarn: '未送信の投稿が%s件あります。ログアウトすると端末から消去されます。ログアウトしますか？',
  enrol: '二要素認証の登録', enrolHelp: '認証アプリ（FreeOTP、Google Authenticator など）にこの鍵を登録し、表示された6桁のコードを入力してください。',
  secret: '鍵', recovery: '回復コード（一度だけ表示されます。安全な場所に保管してください）', done: '完了',
  changePw: '初回のパスワードを変更してください', oldPw: '現在のパスワード', newPw: '新しいパスワード',
  name: '氏名', role: '役割', profession: '職種', org: '所属', contact: '連絡先', primary: '主担当', period: '期間',
  readOnly: '閲覧のみ', summary: '概要', wishes: '本人・家族の意向', birth: '生年月日',
  bt: '体温', bp: '血圧', bpSys: '収縮期', bpDia: '拡張期', pulse: '脈拍', spo2: 'SpO2', rr: '呼吸数', pain: '痛み（NRS 0–10）',
  painText: '痛み NRS %s/10', range: '%s は %s〜%s の範囲で入力してください',
  bpBoth: '血圧は収縮期と拡張期の両方を入力してください', bpOrder: '拡張期は収縮期より低い値にしてください',
  notices: '通知（この端末）', noticeHelp: '新しい投稿などがあると、この端末に「renkei: 新しい投稿があります」のような通知が届きます。患者の名前や内容は通知に含まれません。',
  noticeEnable: 'この端末で通知を受け取る', noticeTest: 'テスト通知を送る', noticeOn: 'この端末で通知を受け取ります',
  noticeSent: 'テスト通知を送りました（%s台）', noticeDevices: '通知を受け取る端末（ブラウザ）: %s台', noticeNone: 'このブラウザは通知に対応していません',
  noticeDenied: '通知が許可されませんでした（ブラウザの設定で許可してください）',
  textEmpty: '本文を入力してください', mine: '自分', textLong: '本文が長すぎます（16384バイトまで。日本語で約5400文字）',
  'kind.1': '訪問記録', 'kind.2': 'バイタル', 'kind.3': '服薬', 'kind.4': 'ケア', 'kind.5': '申し送り', 'kind.6': '一般', 'kind.7': '緊急閲覧',
  'vis.1': '全員（家族を含む）', 'vis.2': '専門職のみ', 'vis.3': '医療職のみ',
  'visShort.1': '全員', 'visShort.2': '専門職', 'visShort.3': '医療職',
  'prof.1': '医師', 'prof.2': '歯科医師', 'prof.3': '看護師', 'prof.4': '薬剤師', 'prof.5': 'リハビリ', 'prof.6': 'MSW',
  'prof.7': 'ケアマネジャー', 'prof.8': '地域包括', 'prof.9': '介護職', 'prof.10': '家族', 'prof.11': '監査', 'prof.12': '管理者',
};
const en = {
  app: 'renkei', lang: '日本語', langLabel: 'Switch the display language to Japanese',
  login: 'Log in', loginId: 'Login', password: 'Password', device: 'Name of this device',
  loginBtn: 'Log in', code: 'Code (6 digits)', codeHelp: 'The 6-digit code your authenticator app shows, or a recovery code (xxxxx-xxxxx)',
  codeBtn: 'Verify', back: 'Back', logout: 'Log out', patients: 'My patients',
  area: 'Area', myRole: 'My role', lastPost: 'Last post', unread: 'Unread', unconfirmed: 'Unconfirmed', none: 'none',
  open: 'Open', board: 'Board', sheet: 'Liaison sheet', post: 'Post', newer: 'New posts',
  older: 'Read older posts', noPosts: 'No posts yet', kind: 'Kind', visibility: 'Visible to',
  urgent: 'Urgent', text: 'Text', vitals: 'Vital signs', send: 'Send', sending: 'Sending…',
  notSent: 'Not sent yet', notSentHelp: 'It is sent by itself when the connection returns', failed: 'Could not be sent',
  remove: 'Remove', photos: 'Photos', camera: 'Take a photo', library: 'Choose photos',
  confirm: 'Confirm', confirmed: 'Confirmed', whoNot: 'Not yet confirmed by', ackBy: 'Confirmed by', ackNone: 'Nobody has confirmed yet',
  allAcked: 'Everyone has confirmed', amend: 'Amend', retract: 'Retract', reason: 'Reason',
  amended: 'This post was amended', amendOf: 'Amended version (of post #%s)', retracted: 'This post was retracted',
  retraction: 'Retraction (of post #%s)', photo: 'Photo', close: 'Close', save: 'Save',
  breakglass: 'Emergency access (break-glass)', bgHelp: 'Open the board of a patient whose sheet you are not on, in an emergency, with a recorded reason (read-only, time-limited, the team is told).',
  patientCode: 'Patient code', bgReason: 'Reason (at least 10 characters)', bgBtn: 'Break the glass', bgUntil: 'Access until %s',
  locked: 'The screen is locked', lockedHelp: 'Enter your password to go on.', unlock: 'Unlock',
  offline: 'Offline — posts are kept on this device and sent when the connection returns', online: 'Connected',
  reconnecting: 'Reconnecting…', sessionEnded: 'Your session has ended. Please log in again.',
  outboxWarn: '%s posts have not been sent yet. Logging out erases them from this device. Log out?',
  enrol: 'Set up a second factor', enrolHelp: 'Add this key to an authenticator app (FreeOTP, Google Authenticator, ...) and enter the 6-digit code it shows.',
  secret: 'Key', recovery: 'Recovery codes (shown only once: keep them somewhere safe)', done: 'Done',
  changePw: 'Please change your one-time password', oldPw: 'Current password', newPw: 'New password',
  name: 'Name', role: 'Role', profession: 'Profession', org: 'Organisation', contact: 'Contact', primary: 'Primary', period: 'Period',
  readOnly: 'read only', summary: 'Summary', wishes: 'Wishes (patient, family)', birth: 'Born',
  bt: 'Temperature', bp: 'Blood pressure', bpSys: 'systolic', bpDia: 'diastolic', pulse: 'Pulse', spo2: 'SpO2', rr: 'Respiration', pain: 'Pain (NRS 0–10)',
  painText: 'Pain NRS %s/10', range: '%s must be between %s and %s',
  bpBoth: 'Blood pressure needs both systolic and diastolic', bpOrder: 'Diastolic must be below systolic',
  notices: 'Notices (this device)', noticeHelp: 'When something arrives, this device gets a notice such as "renkei: 1 new post". Notices never carry a patient\'s name or anything written.',
  noticeEnable: 'Get notices on this device', noticeTest: 'Send a test notice', noticeOn: 'This device gets notices',
  noticeSent: 'A test notice was sent (%s devices)', noticeDevices: 'Devices (browsers) getting notices: %s', noticeNone: 'This browser cannot show notices',
  noticeDenied: 'Notices were not allowed (allow them in the browser settings)',
  textEmpty: 'Write the text of the post', mine: 'me', textLong: 'The text is too long (at most 16384 bytes)',
  'kind.1': 'Visit note', 'kind.2': 'Vitals', 'kind.3': 'Medication', 'kind.4': 'Care', 'kind.5': 'Hand-off', 'kind.6': 'General', 'kind.7': 'Break-glass',
  'vis.1': 'Everyone (family too)', 'vis.2': 'Professionals only', 'vis.3': 'Clinical staff only',
  'visShort.1': 'All', 'visShort.2': 'Professional', 'visShort.3': 'Clinical',
  'prof.1': 'Physician', 'prof.2': 'Dentist', 'prof.3': 'Nurse', 'prof.4': 'Pharmacist', 'prof.5': 'Rehab', 'prof.6': 'MSW',
  'prof.7': 'Care manager', 'prof.8': 'Community centre', 'prof.9': 'Care worker', 'prof.10': 'Family', 'prof.11': 'Auditor', 'prof.12': 'Admin',
};
const dicts = { ja, en };
let lang = (() => { try { return localStorage.getItem('renkei.lang') === 'en' ? 'en' : 'ja'; } catch { return 'ja'; } })();

export function t(key, ...args) {
  let s = dicts[lang][key] ?? ja[key] ?? key;
  for (const a of args) s = s.replace('%s', String(a));
  return s;
}
export function getLang() { return lang; }
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'ja';
  try { localStorage.setItem('renkei.lang', lang); } catch { /* private mode */ }
  document.documentElement.lang = lang;
}
export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(Number(ms)).toLocaleString(lang === 'en' ? 'en-GB' : 'ja-JP',
    { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}
