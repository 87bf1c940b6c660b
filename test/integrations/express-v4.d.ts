// Express 4, installed as the `express-v4` alias to test both majors; typed with Express 5's types.
declare module 'express-v4' {
  import express from 'express';
  export default express;
}
