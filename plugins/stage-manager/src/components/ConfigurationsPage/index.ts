export { ConfigurationListPage } from './ConfigurationListPage';
export { ConfigurationPage } from './ConfigurationPage';
export { ConfigurationEditorPage } from './ConfigurationEditorPage';
