export { ConsoleWallPage } from './ConsoleWallPage';
